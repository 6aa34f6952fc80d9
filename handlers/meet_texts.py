"""The /meet conversation's buttons (`meet:`) and question table: what each state asks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup

from bot.activities import KIND_LABELS
from bot.context import BotContext
from bot.enums import MeetingAudience
from bot.i18n import N_
from bot.meetings.draft import AGENDA_LIMIT, PLACE_LIMIT, MeetingDraft, audience_of
from bot.meetings.texts import invitation_text, kinds_text, moment
from bot.rules.kinds import ActivityKind
from handlers.buttons import Button
from handlers.common import Page, escape, in_rows, keyboard
from storage import activity_queries, meeting_queries, queries
from storage.models_meetings import Meeting

BRANCH, KINDS, WHEN, PLACE, AGENDA = "branch", "kinds", "when", "place", "agenda"
AUDIENCE, GROUP, PICK, REASON, DECIDES, PREVIEW = (
    "audience",
    "group",
    "pick",
    "reason",
    "decides",
    "preview",
)
PICK_PAGE = 20

Rows = list[list[tuple[str, str]]]
Editable = Literal["when", "place", "agenda", "audience"]

AUDIENCE_LABELS: dict[MeetingAudience, str] = {
    MeetingAudience.BRANCH: N_("the whole branch"),
    MeetingAudience.COMMITTEE: N_("the branch committee"),
    MeetingAudience.PARTY_GROUP: N_("one party group"),
    MeetingAudience.CHOSEN: N_("chosen members"),
}


class MeetFor(Button, prefix="meet:for"):
    """The branch (or party group) a leader of several calls the meeting for."""

    org_id: int


class MeetKind(Button, prefix="meet:k"):
    """Choose or unchoose one kind."""

    kind: ActivityKind


class MeetKindsDone(Button, prefix="meet:k:ok"):
    """The kinds are chosen."""


class MeetAudienceChoice(Button, prefix="meet:aud"):
    """Who is invited."""

    audience: MeetingAudience


class MeetGroup(Button, prefix="meet:grp"):
    """The party group invited (or holding a party group meeting)."""

    group_id: int


class MeetPick(Button, prefix="meet:p"):
    """Choose or unchoose one member of the roster."""

    person_id: int
    page: int


class MeetPickPage(Button, prefix="meet:pp"):
    """Another page of the roster."""

    page: int


class MeetPickDone(Button, prefix="meet:p:ok"):
    """The members are chosen."""


class MeetReasonRequired(Button, prefix="meet:rsn"):
    """Whether an absence needs a reason."""

    required: bool


class MeetDecides(Button, prefix="meet:dec"):
    """Whether the general meeting elects or decides (then it needs a quorum)."""

    decides: bool


class MeetEdit(Button, prefix="meet:e"):
    """From the preview, answer one question again."""

    field: Editable


class MeetSend(Button, prefix="meet:send"):
    """Call the meeting: store it and send the invitations."""


class MeetDrop(Button, prefix="meet:drop"):
    """Drop the draft."""


Ask = Callable[[BotContext, AsyncSession, dict[str, Any]], Awaitable[tuple[str, Rows]]]


def _draft(data: dict[str, Any]) -> MeetingDraft:
    return MeetingDraft.from_data(data) if "branch_id" in data else MeetingDraft(0)


async def _branch(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    grants = [*context.principal.led_branches(), *context.principal.led_groups()]
    rows = [[(grant.org_code, MeetFor(grant.org_id).data)] for grant in grants]
    return context._("Which branch or party group is the meeting for?"), rows


async def _kinds(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    chosen = set(_draft(data).kinds)
    buttons = [
        (("✓ " if kind.value in chosen else "") + context._(KIND_LABELS[kind]), MeetKind(kind).data)
        for kind in ActivityKind
    ]
    text = context._(
        "What meeting are you calling? Choose one or more (a general meeting with a Party "
        "lecture counts for both), then press Done."
    )
    return text, [*in_rows(buttons, 2), [(context._("Done"), MeetKindsDone().data)]]


def when_question(context: BotContext) -> str:
    """Asking the date and time, with the sender's zone and an example."""
    tomorrow = (context.settings.now() + dt.timedelta(days=1)).astimezone(context.tr.tz)
    return context._(
        "When is it? Send the date and time, e.g. {example}, 11-25 14:00 or 11月25日 14点 "
        "({zone} time)."
    ).format(example=tomorrow.strftime("%Y-%m-%d 14:30"), zone=context.tr.time_zone)


async def _when(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    return when_question(context), []


async def _place(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    text = context._(
        "Where is it? Send the place or the link of an online meeting (at most {limit} characters)."
    ).format(limit=PLACE_LIMIT)
    return text, []


async def _agenda(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    text = context._("What is on the agenda? (the topic, at most {limit} characters)").format(
        limit=AGENDA_LIMIT
    )
    return text, []


async def _audience(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    groups = await activity_queries.party_groups(session, branch_id=_draft(data).branch_id)
    rows = [
        [(context._(label), MeetAudienceChoice(audience).data)]
        for audience, label in AUDIENCE_LABELS.items()
        if audience is not MeetingAudience.PARTY_GROUP or groups
    ]
    text = context._(
        "Who is invited? Mobile members of the branch are invited too (they may attend remotely)."
    )
    return text, rows


async def _group(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    groups = await activity_queries.party_groups(session, branch_id=_draft(data).branch_id)
    english = context.tr.locale == "en"
    rows = [
        [((name_en if english and name_en else name)[:60], MeetGroup(group_id).data)]
        for group_id, _parent, _code, name, name_en in groups
    ]
    return context._("Which party group?"), rows


async def _pick(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    draft = _draft(data)
    roster = await meeting_queries.invitable(session, draft.branch_id)
    shown = Page.of(int(data.get("pick_page") or 0), len(roster), PICK_PAGE)
    chosen = set(draft.chosen)
    buttons = [
        (
            ("✓ " if person.person_id in chosen else "") + person.name[:24],
            MeetPick(person.person_id, shown.index).data,
        )
        for person in roster[shown.offset : shown.offset + PICK_PAGE]
    ]
    rows = in_rows(buttons, 2)
    nav = shown.buttons(lambda n: MeetPickPage(n).data)
    if nav:
        rows.append(nav)
    rows.append([(context._("Done"), MeetPickDone().data)])
    text = context._("Choose the members to invite (press again to remove), then Done.")
    text += "\n" + context._("Chosen: {count}").format(count=len(chosen))
    return f"{text} {shown.caption(context)}".rstrip(), rows


async def _reason(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    rows = [
        [(context._("Yes, a reason is needed"), MeetReasonRequired(True).data)],
        [(context._("No, a reason is optional"), MeetReasonRequired(False).data)],
    ]
    text = context._(
        "Does someone who can't attend have to give a reason (excused absence)? Members "
        "always choose from sick, work, away or another reason, never more."
    )
    return text, rows


async def _decides(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    rows = [
        [(context._("Yes: it elects or decides"), MeetDecides(True).data)],
        [(context._("No"), MeetDecides(False).data)],
    ]
    text = context._(
        "Will the general meeting elect or decide something? Then more than half of the "
        "members with voting rights must be present for it to count."
    )
    return text, rows


def _preview_meeting(draft: MeetingDraft) -> Meeting:
    """An unsaved meeting holding the draft, to show the invitation as members will read it."""
    return Meeting(
        id=0,
        branch_id=draft.branch_id,
        kinds=list(draft.kinds),
        starts_at=draft.starts_at,
        place=draft.place or "",
        agenda=draft.agenda or "",
        audience=draft.audience,
        reason_required=bool(draft.reason_required),
        decides=draft.decides,
    )


async def _preview(
    context: BotContext, session: AsyncSession, data: dict[str, Any]
) -> tuple[str, Rows]:
    draft = _draft(data)
    branch = await queries.org_by_id(session, draft.branch_id)
    roster = await meeting_queries.invitable(session, draft.branch_id)
    assert draft.audience is not None
    people = audience_of(roster, draft.audience, group_id=draft.party_group_id, chosen=draft.chosen)
    without = sum(1 for person in people if person.account_id is None)
    name = branch.display_name(context.tr.locale) if branch else "?"
    invitation = invitation_text(context.tr, _preview_meeting(draft), name, None)
    lines = [
        context._("<b>Please check the meeting before the invitations go out.</b>"),
        context._("Invited: {count} ({audience}).").format(
            count=len(people), audience=context._(AUDIENCE_LABELS[draft.audience])
        ),
    ]
    if without:
        lines.append(
            context._(
                "{count} of them have no Telegram account: tick them on the sign-in checklist."
            ).format(count=without)
        )
    if draft.decides:
        lines.append(
            context._("It elects or decides: more than half of the voting members needed.")
        )
    lines += ["", context._("Members will read:"), "", invitation]
    rows = [
        [
            (context._("Time"), MeetEdit("when").data),
            (context._("Place"), MeetEdit("place").data),
            (context._("Agenda"), MeetEdit("agenda").data),
        ],
        [(context._("📨 Send the invitations"), MeetSend().data)],
        [(context._("Discard"), MeetDrop().data)],
    ]
    if not draft.group_leader:
        rows[0].append((context._("Who"), MeetEdit("audience").data))
    if not people:
        rows[1] = []
        lines.insert(1, context._("Nobody would be invited: change who is invited."))
    return "\n".join(lines), [row for row in rows if row]


QUESTIONS: dict[str, Ask] = {
    BRANCH: _branch,
    KINDS: _kinds,
    WHEN: _when,
    PLACE: _place,
    AGENDA: _agenda,
    AUDIENCE: _audience,
    GROUP: _group,
    PICK: _pick,
    REASON: _reason,
    DECIDES: _decides,
    PREVIEW: _preview,
}


async def question(
    context: BotContext, session: AsyncSession, state: str, data: dict[str, Any]
) -> tuple[str, InlineKeyboardMarkup | None]:
    """What the conversation asks in `state`, with its buttons."""
    text, rows = await QUESTIONS.get(state, _preview)(context, session, data)
    return text, keyboard(rows) if rows else None


def called_text(context: BotContext, meeting: Meeting, invited: int, without: int) -> str:
    """What the caller is told once the meeting is called (above its card)."""
    text = context.tr.ngettext(
        "Meeting #{id} is called: {count} person invited.",
        "Meeting #{id} is called: {count} people invited.",
        invited,
    ).format(id=meeting.id, count=invited)
    if without:
        text += " " + context._("{count} without Telegram: tick them on the checklist.").format(
            count=without
        )
    return (
        text
        + "\n"
        + context._("{kinds} on {time}").format(
            kinds=escape(kinds_text(context.tr, meeting.kinds)),
            time=moment(context.tr, meeting.starts_at),
        )
    )
