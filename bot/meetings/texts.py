"""How a meeting reads: the invitation and the word after it, the caller's card, the reason
question. In the reader's language and time zone; the buttons are built on the handlers' side.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence

from bot.activities import ABSENCE_REASONS, KIND_LABELS, AbsenceReason, known_kinds
from bot.enums import Rsvp
from bot.i18n import N_, Translator
from bot.rules.meetings import Answer, Tally, sign_in_closes, sign_in_opens
from storage.models_meetings import Meeting, MeetingInvitee

# The reasons an invitee chooses from (personal leave is the secretary's word for "other").
MEETING_REASONS = (AbsenceReason.SICK, AbsenceReason.WORK, AbsenceReason.AWAY, AbsenceReason.OTHER)
NOTE_LIMIT = 200
# Names shown per group on the card (a branch of 500 still fits one message).
CARD_NAMES = 30

RSVP_LABELS: dict[Rsvp, str] = {
    Rsvp.YES: N_("attending"),
    Rsvp.REMOTE: N_("attending remotely"),
    Rsvp.NO: N_("can't attend"),
    Rsvp.LATER: N_("will answer later"),
}


def escape(text: str) -> str:
    """Stored user text inside our HTML messages."""
    return html.escape(text, quote=False)


def moment(tr: Translator, value: dt.datetime) -> str:
    """A date and time in the reader's zone, with the zone's name."""
    local = value.astimezone(tr.tz)
    return tr._("{date} {time} ({zone})").format(
        date=tr.date(local.date()), time=tr.time(value), zone=tr.time_zone
    )


def kinds_text(tr: Translator, kinds: Sequence[str]) -> str:
    """The meeting's kinds in the reader's language."""
    names = [tr._(KIND_LABELS[kind]) for kind in known_kinds(list(kinds))]
    return tr._(", ").join(names) if names else "—"


def details(tr: Translator, meeting: Meeting, branch_name: str) -> list[str]:
    """What, where and when, one line each."""
    return [
        tr._("<b>{kinds}</b> — {branch}").format(
            kinds=kinds_text(tr, meeting.kinds), branch=escape(branch_name)
        ),
        tr._("When: {time}").format(time=moment(tr, meeting.starts_at)),
        tr._("Where: {place}").format(place=escape(meeting.place)),
        tr._("Agenda: {agenda}").format(agenda=escape(meeting.agenda)),
    ]


def reason_label(tr: Translator, value: str | None) -> str:
    """An absence reason in the reader's language."""
    known = {reason.value: reason for reason in AbsenceReason}
    return tr._(ABSENCE_REASONS[known.get(str(value), AbsenceReason.OTHER)])


def answer_line(tr: Translator, invitee: MeetingInvitee) -> str:
    """The invitee's answer so far, and whether they signed in."""
    if invitee.signed_in_at is not None:
        return tr._("✋ You signed in at {time}.").format(time=tr.time(invitee.signed_in_at))
    if invitee.rsvp is None:
        return tr._("You have not answered yet.")
    text = tr._("Your reply: {answer}").format(answer=tr._(RSVP_LABELS[invitee.rsvp]))
    if invitee.rsvp is Rsvp.NO and invitee.reason:
        text = tr._("{answer} ({reason})").format(
            answer=text, reason=reason_label(tr, invitee.reason)
        )
    return text


def _how_to_answer(tr: Translator, meeting: Meeting, invitee: MeetingInvitee | None) -> list[str]:
    lines = [
        tr._(
            "Please answer below; you can change your answer until it starts. Press “I'm "
            "here” when you arrive: sign-in is open from {opens} to {closes}."
        ).format(
            opens=tr.time(sign_in_opens(meeting.starts_at)),
            closes=tr.time(sign_in_closes(meeting.starts_at)),
        )
    ]
    if meeting.reason_required:
        lines.append(tr._("If you can't attend, please give the reason (excused absence)."))
    if invitee is not None and invitee.mobile:
        lines.append(tr._("As a mobile member you may attend remotely."))
    return lines


def invitation_text(
    tr: Translator,
    meeting: Meeting,
    branch_name: str,
    invitee: MeetingInvitee | None,
    *,
    event: str = "invite",
    moved_from: dt.datetime | None = None,
) -> str:
    """A meeting's invitation, or the word that follows it (moved, cancelled, the reminders
    before it), as one invitee reads it."""
    title = kinds_text(tr, meeting.kinds)
    if event == "cancelled":
        return tr._("❌ Cancelled: the {kinds} on {time} will not take place.").format(
            kinds=title, time=moment(tr, meeting.starts_at)
        )
    heads = {
        "invite": tr._("📅 You are invited to a meeting."),
        "ask": tr._("⏰ Tomorrow's meeting: you have not answered yet. Will you attend?"),
        "soon": tr._("⏰ The meeting starts in one hour."),
    }
    if event == "moved":
        head = tr._("🔁 The meeting was moved (it was on {time}).").format(
            time=moment(tr, moved_from) if moved_from is not None else "?"
        )
    else:
        head = heads.get(event, heads["invite"])
    lines = [head, "", *details(tr, meeting, branch_name), ""]
    if event != "soon":
        lines += _how_to_answer(tr, meeting, invitee)
    else:
        lines.append(
            tr._("Press “I'm here” when you arrive (from {opens}).").format(
                opens=tr.time(sign_in_opens(meeting.starts_at))
            )
        )
    if invitee is not None and (invitee.rsvp is not None or invitee.signed_in_at is not None):
        lines += ["", answer_line(tr, invitee)]
    return "\n".join(lines)


def log_prompt_text(tr: Translator, meeting: Meeting, branch_name: str, signed_in: int) -> str:
    """The caller's "log this meeting?" once sign-in has closed."""
    return tr._(
        "📝 The {kinds} of {branch} on {time} is over; {count} signed in. Log this meeting? "
        "The draft already holds the kinds, date, topic and attendance, with the reasons "
        "given: add minutes or photos if you like, and save."
    ).format(
        kinds=kinds_text(tr, meeting.kinds),
        branch=escape(branch_name),
        time=moment(tr, meeting.starts_at),
        count=signed_in,
    )


def reason_question(tr: Translator) -> str:
    """Asking why an invitee can't attend: with what it is for, and that it is optional."""
    return tr._(
        "Why can't you attend? Your secretary keeps the reason in the branch's record of "
        "excused absence (other members don't see it). It is optional, and a health reason is "
        "sensitive: you may choose “other reason” instead."
    )


def note_question(tr: Translator) -> str:
    """Asking for a few optional words with the reason."""
    return tr._(
        "Add a few words for your secretary (optional, at most {limit} characters), or press "
        "“No note”."
    ).format(limit=NOTE_LIMIT)


def _names(tr: Translator, answers: list[Answer], *, reasons: bool = False) -> str:
    shown = []
    for answer in answers[:CARD_NAMES]:
        name = escape(answer.name) + ("" if answer.has_account else "*")
        if reasons and answer.reason:
            why = reason_label(tr, answer.reason)
            if answer.note:
                why += tr._(": ") + escape(answer.note)
            name += f" ({why})"
        shown.append(name)
    text = tr._(", ").join(shown)
    if len(answers) > CARD_NAMES:
        text += " " + tr._("and {count} more").format(count=len(answers) - CARD_NAMES)
    return text


def card_text(
    tr: Translator,
    meeting: Meeting,
    branch_name: str,
    counted: Tally,
    *,
    now: dt.datetime,
    quorum: tuple[int, int] | None = None,
) -> str:
    """The caller's card: the meeting, the answers by group with names, sign-ins."""
    lines = [tr._("<b>Meeting #{id}</b>").format(id=meeting.id), *details(tr, meeting, branch_name)]
    if meeting.cancelled_at is not None:
        lines.append(tr._("❌ Cancelled."))
    lines.append(tr._("Invited: {count}").format(count=counted.invited))
    groups = (
        ("✅", N_("Attending"), counted.attending, False),
        ("🌐", N_("Attending remotely"), counted.remote, False),
        ("❌", N_("Can't attend"), counted.absent, True),
        ("⏳", N_("Will answer later"), counted.later, False),
        ("▫️", N_("No answer yet"), counted.silent, False),
    )
    for mark, label, answers, reasons in groups:
        if answers:
            lines.append(
                tr._("{mark} {label} ({count}): {names}").format(
                    mark=mark,
                    label=tr._(label),
                    count=len(answers),
                    names=_names(tr, answers, reasons=reasons),
                )
            )
    if now >= sign_in_opens(meeting.starts_at) and meeting.cancelled_at is None:
        lines.append(
            tr._("✋ Signed in ({count}): {names}").format(
                count=len(counted.signed_in), names=_names(tr, counted.signed_in) or "—"
            )
        )
    if quorum is not None:
        present, size = quorum
        lines.append(
            tr._("Committee: {present} of {size} coming (more than half needed).").format(
                present=present, size=size
            )
        )
    if any(not a.has_account for group in groups for a in group[2]):
        lines.append(tr._("* no Telegram account: tick them on the sign-in checklist."))
    if meeting.activity_id is not None:
        lines.append(tr._("📝 Logged as activity #{id}.").format(id=meeting.activity_id))
    return "\n".join(lines)
