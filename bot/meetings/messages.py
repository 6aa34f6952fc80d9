"""Meeting rows as the reminder engine sends them: each one a message of its own, in its
reader's language, with what it offers (answer buttons, "I'm here", "log this meeting");
rows that no longer make sense are left unsent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.meetings.texts import invitation_text, log_prompt_text
from bot.reminders.payloads import MeetingPayload
from bot.rules.meetings import ATTENDING, asked_the_day_before, sign_in_closes
from storage import meeting_queries as mq
from storage.models_meetings import Meeting, MeetingInvitee


@dataclass(frozen=True, slots=True)
class MeetingOffer:
    """The buttons a meeting message carries (built on the handlers' side)."""

    meeting_id: int
    # Attending / can't attend / later (and remotely, for a mobile member).
    answers: bool = False
    remote: bool = False
    sign_in: bool = False
    log: bool = False


@dataclass(slots=True)
class MeetingMessages:
    """The messages of one reader's meeting rows, and the rows not to send."""

    messages: list[tuple[int, str, MeetingOffer | None]] = field(default_factory=list)
    obsolete: list[int] = field(default_factory=list)


def obsolete(
    payload: MeetingPayload,
    meeting: Meeting | None,
    invitee: MeetingInvitee | None,
    now: dt.datetime,
) -> bool:
    """Whether a meeting row no longer makes sense when its turn comes."""
    if meeting is None:
        return True
    cancelled = meeting.cancelled_at is not None
    if payload.event == "cancelled":
        return False
    if payload.event == "log":
        return cancelled or meeting.activity_id is not None
    if cancelled or meeting.starts_at <= now or invitee is None:
        return True
    if payload.event in ("ask", "soon", "moved") and payload.starts_at != meeting.starts_at:
        return True  # moved again since: the row planned for the new time says so
    if payload.event == "ask":
        return not asked_the_day_before(invitee.rsvp)
    if payload.event == "soon":
        return invitee.rsvp not in ATTENDING
    return False


def _offer(event: str, meeting: Meeting, invitee: MeetingInvitee | None) -> MeetingOffer | None:
    if event == "cancelled":
        return None
    if event == "log":
        return MeetingOffer(meeting.id, log=True)
    mobile = invitee is not None and invitee.mobile
    if event == "soon":
        return MeetingOffer(meeting.id, sign_in=True)
    return MeetingOffer(meeting.id, answers=True, remote=mobile, sign_in=True)


async def meeting_messages(
    session: AsyncSession,
    tr: Translator,
    account_id: int,
    rows: Sequence[tuple[int, MeetingPayload]],
    now: dt.datetime,
) -> MeetingMessages:
    """Render one reader's meeting rows."""
    meetings, own = await mq.reader_invitations(
        session, {payload.meeting_id for _, payload in rows}, account_id
    )
    rendered = MeetingMessages()
    for row_id, payload in rows:
        meeting = meetings.get(payload.meeting_id)
        invitee = own.get(payload.meeting_id)
        if obsolete(payload, meeting, invitee, now):
            rendered.obsolete.append(row_id)
            continue
        assert meeting is not None
        branch = meeting.branch.display_name(tr.locale)
        if payload.event == "log":
            if now > sign_in_closes(meeting.starts_at) + dt.timedelta(days=30):
                rendered.obsolete.append(row_id)
                continue
            signed = await mq.signed_in_count(session, meeting.id)
            text = log_prompt_text(tr, meeting, branch, signed)
        else:
            text = invitation_text(
                tr, meeting, branch, invitee, event=payload.event, moved_from=payload.moved_from
            )
        rendered.messages.append((row_id, text, _offer(payload.event, meeting, invitee)))
    return rendered


def answered_text(tr: Translator, meeting: Meeting, branch: str, invitee: MeetingInvitee) -> str:
    """The invitation as it reads once answered (its message is edited to this)."""
    return invitation_text(tr, meeting, branch, invitee)


def offer_for(meeting: Meeting, invitee: MeetingInvitee) -> MeetingOffer | None:
    """The buttons an edited invitation keeps: answers until the start, sign-in until it
    closes."""
    if meeting.cancelled_at is not None:
        return None
    return MeetingOffer(meeting.id, answers=True, remote=invitee.mobile, sign_in=True)
