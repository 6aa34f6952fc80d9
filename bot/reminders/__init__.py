"""Reminders: pure planning rules and quiet hours, rendering, and the engine that sends them.

How the pieces fit:

* `planner` and `kinds` (pure): facts in, reminder rows out, each with a dedupe key naming
  recipient, subject and moment, and a typed payload (`payloads`: a dataclass per kind, stored
  as JSON). `planner` holds the plan, the window and the deadline moments; `kinds` the rule of
  each kind: trainings (24 h and 1 h before; invitations are rows too), calendar obligations
  (the rule's lead days before a period ends, those in its last week soft for digest readers;
  the day after; escalation to the nearest admin after ZHIBU_REMINDER_ESCALATION_DAYS; to the
  branch's secretaries and deputies), induction training (30, 7, 1 days before the
  six-month deadline; the admin the day after), term end (6 and 2 months before), grading
  self-assessments, members' surveys and rectification items, mobile
  members' yearly report, and the weekly digest (ZHIBU_REMINDER_DIGEST_WEEKDAY/_HOUR, per user
  in /reminders). Party dues, lapse warnings and the lost-contact register's timers are planned
  by bot.dues.planning (called from `sources`) and rendered by `render_dues`.
  `meeting_kinds`: meetings called with /meet (a day before to those who have not answered,
  an hour before to those coming, the caller's "log this meeting?"), the life meeting's
  preparation steps and the themed Party day on the branch's day (`meeting_sources` loads them).
* `sources`: loads those facts from the database and stores the plan (insert new keys, cancel
  reminders whose obligation is done). The JobQueue runs it every ZHIBU_REMINDER_PLAN_MINUTES.
* `engine`: every ZHIBU_REMINDER_TICK_SECONDS claims due rows (SKIP LOCKED on PostgreSQL),
  applies muting, quiet hours (ZHIBU_REMINDER_QUIET_START/_END, per user) and the digest
  hand-off, renders per recipient at send time (`render`: text, and which training an
  invitation answers; its buttons come from the handlers' side) and sends through the flood
  gate the notices use. See its docstring for the exactly-once argument.
* `trainings`: scheduling, answers, attendance and calling one off (each audited);
  `terms`: branch terms.
"""
