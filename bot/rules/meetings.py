"""Pure rules of a meeting called with /meet: when it can be answered, when invitees sign in,
who is reminded, and how the answers add up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.enums import Rsvp

# Sign-in opens half an hour before the start and closes two hours after it; then the meeting
# is over and the secretary is asked to log it.
SIGN_IN_OPENS = dt.timedelta(minutes=30)
SIGN_IN_CLOSES = dt.timedelta(hours=2)
# Those who have not answered are reminded a day before; those coming, an hour before.
ASK_LEAD = dt.timedelta(hours=24)
SOON_LEAD = dt.timedelta(hours=1)
# The secretary's card is edited at most this often while answers come in.
CARD_EVERY = dt.timedelta(seconds=3)

ATTENDING = frozenset({Rsvp.YES, Rsvp.REMOTE})
# "Later" is not an answer: the invitee is still asked the day before.
UNANSWERED = frozenset({None, Rsvp.LATER})


def may_answer(starts_at: dt.datetime, cancelled: bool, now: dt.datetime) -> bool:
    """Answers can be given and changed until the meeting starts (not once it is called off)."""
    return not cancelled and now < starts_at


def sign_in_opens(starts_at: dt.datetime) -> dt.datetime:
    """When "I'm here" starts to count."""
    return starts_at - SIGN_IN_OPENS


def sign_in_closes(starts_at: dt.datetime) -> dt.datetime:
    """When sign-in ends (and the meeting is taken as over)."""
    return starts_at + SIGN_IN_CLOSES


def sign_in_open(starts_at: dt.datetime, cancelled: bool, now: dt.datetime) -> bool:
    """Whether an invitee can sign in (or be ticked on the checklist) now."""
    return not cancelled and sign_in_opens(starts_at) <= now <= sign_in_closes(starts_at)


def asked_the_day_before(rsvp: Rsvp | None) -> bool:
    """Whether an invitee's answer still leaves them to be reminded 24 hours before."""
    return rsvp in UNANSWERED


@dataclass(frozen=True, slots=True)
class Answer:
    """One invitee's answer as the card counts it."""

    person_id: int
    name: str
    rsvp: Rsvp | None
    reason: str | None = None
    note: str | None = None
    signed_in: bool = False
    has_account: bool = True


@dataclass(slots=True)
class Tally:
    """Invitees grouped by answer, in the order they were invited."""

    attending: list[Answer] = field(default_factory=list)
    remote: list[Answer] = field(default_factory=list)
    absent: list[Answer] = field(default_factory=list)
    later: list[Answer] = field(default_factory=list)
    silent: list[Answer] = field(default_factory=list)
    signed_in: list[Answer] = field(default_factory=list)

    @property
    def invited(self) -> int:
        """Everyone invited."""
        return (
            len(self.attending)
            + len(self.remote)
            + len(self.absent)
            + len(self.later)
            + len(self.silent)
        )


def tally(answers: Iterable[Answer]) -> Tally:
    """Count the answers as the secretary's card shows them."""
    counted = Tally()
    groups = {
        Rsvp.YES: counted.attending,
        Rsvp.REMOTE: counted.remote,
        Rsvp.NO: counted.absent,
        Rsvp.LATER: counted.later,
        None: counted.silent,
    }
    for answer in answers:
        groups[answer.rsvp].append(answer)
        if answer.signed_in:
            counted.signed_in.append(answer)
    return counted
