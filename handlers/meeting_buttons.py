"""The buttons of meetings once called (`mt:`), one family per verb, and the keyboards under an
invitation, a reminder, the caller's card and the "log this meeting?" message.

Whatever parses is only well formed: the handlers load the meeting a button names and check it
against the presser on every press (their own invitation, or a meeting they manage).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, cast

from telegram import InlineKeyboardMarkup

from bot.activities import ABSENCE_REASONS
from bot.i18n import Translator
from bot.meetings.messages import MeetingOffer
from bot.meetings.texts import MEETING_REASONS
from handlers.buttons import Button
from handlers.common import keyboard
from storage.models_meetings import Meeting

ReasonKey = Literal["sick", "work", "away", "other"]

# ---- an invitee's answers --------------------------------------------------------------------


class MeetAttend(Button, prefix="mt:y"):
    """The invitee will attend."""

    meeting_id: int


class MeetRemote(Button, prefix="mt:rm"):
    """A mobile member will attend remotely."""

    meeting_id: int


class MeetDecline(Button, prefix="mt:n"):
    """The invitee can't attend: ask why."""

    meeting_id: int


class MeetLater(Button, prefix="mt:l"):
    """The invitee will answer later (and is asked again the day before)."""

    meeting_id: int


class MeetReason(Button, prefix="mt:why"):
    """Why the invitee can't attend (then a few optional words)."""

    meeting_id: int
    reason: ReasonKey


class MeetNoReason(Button, prefix="mt:why:none"):
    """Decline without giving a reason (where the caller did not require one)."""

    meeting_id: int


class MeetNoNote(Button, prefix="mt:nonote"):
    """No words to add to the reason."""


class MeetHere(Button, prefix="mt:here"):
    """Sign in: "I'm here"."""

    meeting_id: int


class MeetView(Button, prefix="mt:v"):
    """One meeting from /meetings, with its buttons."""

    meeting_id: int


# ---- the caller's card ---------------------------------------------------------------------


class MeetCard(Button, prefix="mt:card"):
    """The caller's card of a meeting."""

    meeting_id: int


class MeetChecklist(Button, prefix="mt:chk"):
    """A page of the sign-in checklist."""

    meeting_id: int
    page: int


class MeetTick(Button, prefix="mt:tick"):
    """Tick or untick one invitee on the checklist (and stay on the page)."""

    meeting_id: int
    person_id: int
    page: int


class MeetCancel(Button, prefix="mt:x"):
    """Ask before calling the meeting off."""

    meeting_id: int


class MeetCancelYes(Button, prefix="mt:xy"):
    """Call the meeting off (at the version the leader saw)."""

    meeting_id: int
    version: int


class MeetMove(Button, prefix="mt:mv"):
    """Move the meeting: ask the new time (a conversation)."""

    meeting_id: int


class MeetMoveYes(Button, prefix="mt:mvy"):
    """Move it to the time given."""


class MeetMoveNo(Button, prefix="mt:mvn"):
    """Leave the meeting where it is."""


class LogMeeting(Button, prefix="mt:log"):
    """Open the meeting's pre-filled /log draft (the activity conversation)."""

    meeting_id: int


# ---- keyboards -----------------------------------------------------------------------------


def answer_rows(tr: Translator, offer: MeetingOffer) -> list[list[tuple[str, str]]]:
    """Attending / (remotely) / can't attend / later, and "I'm here"."""
    meeting_id = offer.meeting_id
    rows: list[list[tuple[str, str]]] = []
    if offer.answers:
        rows.append(
            [
                (tr._("✅ Attending"), MeetAttend(meeting_id).data),
                (tr._("❌ Can't attend"), MeetDecline(meeting_id).data),
            ]
        )
        second = [(tr._("⏳ Later"), MeetLater(meeting_id).data)]
        if offer.remote:
            second.insert(0, (tr._("🌐 Attending remotely"), MeetRemote(meeting_id).data))
        rows.append(second)
    if offer.sign_in:
        rows.append([(tr._("✋ I'm here"), MeetHere(meeting_id).data)])
    if offer.log:
        rows.append([(tr._("📝 Log this meeting"), LogMeeting(meeting_id).data)])
    return rows


def meeting_keyboard(tr: Translator, offer: Any) -> InlineKeyboardMarkup | None:
    """The buttons a meeting message offers (the reminder engine's hook)."""
    if not isinstance(offer, MeetingOffer):
        return None
    rows = answer_rows(tr, offer)
    return keyboard(rows) if rows else None


def reason_keyboard(tr: Translator, meeting_id: int, *, required: bool) -> InlineKeyboardMarkup:
    """The reasons to choose from (and, where none is required, declining without one)."""
    buttons = [
        (tr._(ABSENCE_REASONS[reason]), MeetReason(meeting_id, cast(ReasonKey, reason.value)).data)
        for reason in MEETING_REASONS
    ]
    rows = [buttons[:2], buttons[2:]]
    if not required:
        rows.append([(tr._("Rather not say"), MeetNoReason(meeting_id).data)])
    return keyboard(rows)


def card_keyboard(
    tr: Translator, meeting: Meeting, now: dt.datetime
) -> InlineKeyboardMarkup | None:
    """Under the caller's card: the checklist, moving and cancelling while they make sense,
    and logging once it is over."""
    if meeting.cancelled_at is not None:
        return None
    rows = [[(tr._("✋ Sign-in checklist"), MeetChecklist(meeting.id, 0).data)]]
    if meeting.starts_at > now:
        rows.append(
            [
                (tr._("🔁 Move"), MeetMove(meeting.id).data),
                (tr._("❌ Cancel the meeting"), MeetCancel(meeting.id).data),
            ]
        )
    elif meeting.activity_id is None and now >= meeting.starts_at:
        rows.append([(tr._("📝 Log this meeting"), LogMeeting(meeting.id).data)])
    return keyboard(rows)
