"""Party dues (党费), the lapse early warning and the yearly study hours, as services.

- `ledger`: a branch's or member's ledger, recording payments (one at a time or all remaining),
  standards, voids with a reason, members' leave, and the yearly account published to members.
  Every change is audited in the caller's transaction; nothing is ever deleted.
- `importing`: `zhibu dues import` (standards) and `zhibu dues payments` (the bank's or payment
  platform's export), all or nothing, the same payment imported twice changing nothing.
- `local`: what a node chose for itself (collection day, study targets) and the dues rule
  (monthly, or quarterly where the branch decided so) from the calendar rule overrides.
- `report`: the admins' collection report per branch of a subtree (text rows, chart, XLSX).
- `lapse`: the lapse scan (bot.rules.lapse over the facts storage.lapse_queries reads).
- `planning`: what the reminder planner adds: members' monthly reminders on the collection
  day, the branch's collection as a calendar obligation, lapse warnings, and the timers the
  lost-contact register starts.
- `hours`: class hours per person against the yearly target, and the training coverage.
- `prefill`: the grading questionnaire's dues and training items, suggested from the above.

Zhibu records what happens and warns in time: it never moves money, never stores income, and
never removes anyone or changes a status by itself.
"""
