"""Meetings called from the bot (/meet), from the notice to the record.

* `draft`: the /meet conversation's answers (JSON) and who they invite;
* `service`: calling a meeting (invitees and their invitations in one transaction), answers,
  sign-in, moving and cancelling (each decided once, audited);
* `texts`: how an invitation, a reminder and the caller's card read, in the reader's language
  and time zone; `messages`: the reminder engine's rendering of meeting rows;
* `card`: the caller's card, edited as answers come in (at most every few seconds);
* `record`: the /log draft a meeting becomes, quorum, and recognising a hand-logged entry.

Invitations, word of a move or a cancellation, the reminders before a meeting and the
caller's "log this meeting?" are reminder rows (bot.reminders): sent once, in quiet hours held,
muted where the reader chose so.
"""
