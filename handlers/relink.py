"""/relink: a member reports as mobile, asks to transfer ties, or reconnects after losing contact.

Anyone may start it, registered or not: a lost-contact member has no invite. The member says
what they need, who they are (what the roster already knows is not asked again), where they
are and how to reach them; each answer and the next question are committed before the bot
replies (crash-safe, like /start). Sent again later, /relink shows the request's state; to
secretaries and admins it lists the requests of their branches and subtree.
"""

from __future__ import annotations

import re
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.enums import OrgKind, RequestType
from bot.imports import PARTY_FOUNDED_YEAR
from bot.relink import service
from bot.rules.phones import InvalidPhone, looks_like_id_number, parse_phone
from handlers.cancel import conversation_fallbacks
from handlers.common import (
    Page,
    answer,
    clean_text,
    edit_or_answer,
    escape,
    keyboard,
    phone_problem_text,
    refuse,
    sender,
)
from handlers.flow import Flow
from handlers.relink_review import (
    STATE_LABELS,
    TYPE_LABELS,
    problem_text,
    refusal_text,
    send_notices,
    show_card,
)
from storage import queries, relink_queries
from storage.models import Account, OrgUnit

FLOW = Flow("relink")
TYPE, NAME, HOME, YEAR, CITY, EMPLOYER, PHONE, OTHER, CONFIRM = (
    "type",
    "name",
    "home",
    "year",
    "city",
    "employer",
    "phone",
    "other",
    "confirm",
)
ORDER = (TYPE, NAME, HOME, YEAR, CITY, EMPLOYER, PHONE, OTHER)
STATES = (*ORDER, CONFIRM)
DATA_KEYS = {
    TYPE: "type",
    NAME: "name",
    HOME: "home_id",
    YEAR: "join_year",
    CITY: "city",
    EMPLOYER: "employer",
    PHONE: "phone",
    OTHER: "other_id",
}
SEARCH_RESULTS = 8
HOME_KINDS = (OrgKind.COMMITTEE, OrgKind.GENERAL_BRANCH)


# ---- entry: state of an open request, the leaders' list, or a new request -----------------


LIST_PAGE = 10


@sender()
async def relink(update: Update, context: BotContext) -> str | int | None:
    """Show the open request or the leaders' list; otherwise start a new request."""
    account_id = context.account.id if context.account else 0
    if _leads(context):
        await _list_page(update, context, 0)
        return ConversationHandler.END
    async with context.db() as session:
        own = await relink_queries.open_request_of(session, account_id)
    if own is not None:
        await show_card(update, context, own.id, edit=False)
        return ConversationHandler.END
    return await _start_new(update, context)


@sender(registered=True)
async def list_page_pressed(update: Update, context: BotContext) -> None:
    """‹ / ›: another page of the leaders' list."""
    assert update.callback_query is not None and update.callback_query.data is not None
    if not _leads(context):
        await refuse(update, context)
        return
    await _list_page(update, context, int(update.callback_query.data.split(":")[1]))


def _leads(context: BotContext) -> bool:
    return bool(context.principal.led_branches() or context.principal.admin_grants())


async def _list_page(update: Update, context: BotContext, page: int) -> None:
    _ = context._
    principal = context.principal
    branch_ids = [g.org_id for g in principal.led_branches()]
    subtree_paths = [g.org_path for g in principal.admin_grants()]
    async with context.db() as session:
        own = await relink_queries.open_request_of(
            session, context.account.id if context.account else 0
        )
        total = await relink_queries.count_requests_touching(
            session, branch_ids=branch_ids, subtree_paths=subtree_paths
        )
        shown = Page.of(page, total, LIST_PAGE)
        rows = await relink_queries.requests_touching(
            session,
            branch_ids=branch_ids,
            subtree_paths=subtree_paths,
            offset=shown.offset,
            limit=LIST_PAGE,
        )
    now = context.settings.now()
    title = _("<b>Requests of mobile and lost-contact members in your scope</b>")
    lines = [f"{title} {shown.caption(context)}".rstrip()]
    buttons: list[list[tuple[str, str]]] = []
    if not rows:
        lines.append(_("No open requests."))
    for row in rows:
        days = max(0, (now - row.submitted_at).days)
        lines.append(
            _("#{id} {name}: {type}, {state}, {days} days").format(
                id=row.id,
                name=escape(row.name),
                type=_(TYPE_LABELS[row.type]),
                state=_(STATE_LABELS[row.state]),
                days=days,
            )
        )
        buttons.append([(f"#{row.id} {row.name}"[:60], f"rl:v:{row.id}")])
    nav = shown.buttons("rll:{}")
    if nav:
        buttons.append(nav)
    if own is not None:
        buttons.append([(_("My own request"), f"rl:v:{own.id}")])
    else:
        buttons.append([(_("Make a request of my own"), "rlq:new")])
    await edit_or_answer(update, context, "\n".join(lines), keyboard(buttons))


@sender()
async def new_pressed(update: Update, context: BotContext) -> str | int | None:
    """A leader starts a request of their own."""
    return await _start_new(update, context)


async def _start_new(update: Update, context: BotContext) -> str | int | None:
    account = context.account
    async with context.db() as session:
        if account is not None and await relink_queries.open_request_of(session, account.id):
            await answer(update, context, problem_text(context.tr, service.Problem.ALREADY_OPEN))
            return ConversationHandler.END
        last = await relink_queries.latest_request_of(session, account.id) if account else None
    if last is not None:
        # A finished request stays visible: its outcome, before the new questions.
        await answer(
            update,
            context,
            context._("Your last request #{id} ({type}): {state}.").format(
                id=last.id,
                type=context._(TYPE_LABELS[last.type]),
                state=context._(STATE_LABELS[last.state]),
            ),
        )
    data: dict[str, Any] = {}
    person = account.person if account is not None else None
    if person is not None:
        data["name"] = person.name
        if person.branch_id is not None:
            data["home_id"] = person.branch_id
        if person.joined_on is not None:
            data["join_year"] = person.joined_on.year
        if person.phone:
            data["phone"] = person.phone
    async with context.db.begin() as session:
        await FLOW.save(session, update, state=TYPE, data=data)
    await _ask(update, context, TYPE, data)
    return TYPE


# ---- questions -------------------------------------------------------------------------------


def _next_state(data: dict[str, Any]) -> str:
    for state in ORDER:
        if state == OTHER and data.get("type") == RequestType.RECONNECT.value:
            continue
        if DATA_KEYS[state] not in data:
            return state
    return CONFIRM


async def _ask(update: Update, context: BotContext, state: str, data: dict[str, Any]) -> None:
    _ = context._
    skip = [(_("Skip"), "rlq:skip")]
    if state == TYPE:
        text = _(
            "What do you need?\n\n"
            "1. <b>Mobile member</b>: you are away for a while (studying, working elsewhere) "
            "and your ties stay with your home branch.\n"
            "2. <b>Transfer</b>: you have lived or worked at a fixed place for 6 months or "
            "more, and your ties should move to a branch there.\n"
            "3. <b>Reconnect</b>: you lost contact with your branch and want to return to "
            "Party life."
        )
        rows = [
            [(_("1. Report as a mobile member"), "rlq:type:mobile")],
            [(_("2. Transfer my ties"), "rlq:type:transfer")],
            [(_("3. Reconnect after losing contact"), "rlq:type:reconnect")],
        ]
        await answer(update, context, text, keyboard(rows))
    elif state == NAME:
        await answer(update, context, _("Your full name, as on your branch's roster:"))
    elif state == HOME:
        await answer(
            update,
            context,
            _(
                "Which Party branch did you belong to? Type part of its name or its code; "
                "I will search."
            ),
        )
    elif state == YEAR:
        await answer(update, context, _("In which year did you join the Party? (for example 2008)"))
    elif state == CITY:
        await answer(update, context, _("Where are you now? City (and district):"))
    elif state == EMPLOYER:
        await answer(
            update, context, _("Your employer or school there (optional):"), keyboard([skip])
        )
    elif state == PHONE:
        await answer(
            update,
            context,
            _(
                "A phone number where the branch can reach you (optional; your Telegram "
                "account is enough):"
            ),
            keyboard([skip]),
        )
    elif state == OTHER:
        if data.get("type") == RequestType.TRANSFER.value:
            await answer(
                update,
                context,
                _("Which branch are you moving to? Type part of its name or its code."),
            )
        else:
            await answer(
                update,
                context,
                _(
                    "Do you take part in Party life at a branch where you are now? Type part "
                    "of its name or its code, or skip."
                ),
                keyboard([skip]),
            )
    else:
        await _confirm(update, context, data)


async def _confirm(update: Update, context: BotContext, data: dict[str, Any]) -> None:
    _ = context._
    locale = context.tr.locale
    async with context.db() as session:
        home = await queries.org_by_id(session, int(data["home_id"]))
        other_id = data.get("other_id")
        other = await queries.org_by_id(session, int(other_id)) if other_id else None
    kind = RequestType(data["type"])
    lines = [
        _("<b>Please check your request</b>"),
        _("Request: {type}").format(type=_(TYPE_LABELS[kind])),
        _("Name: {name}").format(name=escape(str(data["name"]))),
        _("Home branch: {branch}").format(
            branch=escape(home.display_name(locale) if home else "?")
        ),
        _("Joined the Party in: {year}").format(year=data.get("join_year") or "?"),
        _("Now in: {place}").format(
            place=escape(", ".join(p for p in (data.get("city"), data.get("employer")) if p))
        ),
        _("Phone: {phone}").format(phone=escape(str(data.get("phone") or _("(none)")))),
    ]
    if other is not None:
        label = (
            _("Receiving branch: {branch}")
            if kind is RequestType.TRANSFER
            else _("Takes part in Party life at: {branch}")
        )
        lines.append(label.format(branch=escape(other.display_name(locale))))
    rows = [[(_("Send the request"), "rlq:send")], [(_("Cancel"), "rlq:stop")]]
    await answer(update, context, "\n".join(lines), keyboard(rows))


async def _advance(
    update: Update, context: BotContext, data: dict[str, Any], *, edit: bool = False
) -> str:
    state = _next_state(data)
    async with context.db.begin() as session:
        await FLOW.save(session, update, state=state, data=data)
    await _ask(update, context, state, data)
    return state


# ---- answers ---------------------------------------------------------------------------------


@sender()
async def text_in(update: Update, context: BotContext) -> str | int | None:
    """A typed answer to the current question."""
    message = update.effective_message
    raw = message.text if message else None
    async with context.db() as session:
        draft = await FLOW.load(session, update)
    if draft.seen(update):
        return draft.state
    state, data = draft.state or TYPE, dict(draft.data)
    text = clean_text(raw)
    if text is None:
        await answer(
            update, context, context._("Please send a short text (at most 100 characters).")
        )
        return None
    if looks_like_id_number(text):
        await answer(
            update,
            context,
            context._("Please don't send ID card numbers: they are never collected."),
        )
        return None
    if state == NAME:
        if len(text) > 50:
            await answer(
                update, context, context._("Please send your name, at most 50 characters.")
            )
            return None
        data["name"] = text
    elif state == YEAR:
        this_year = context.settings.now().astimezone(context.settings.tz).year
        if not re.fullmatch(r"\d{4}", text) or not PARTY_FOUNDED_YEAR <= int(text) <= this_year:
            await answer(
                update,
                context,
                context._("Please send a year between {first} and {last}.").format(
                    first=PARTY_FOUNDED_YEAR, last=this_year
                ),
            )
            return None
        data["join_year"] = int(text)
    elif state == CITY:
        data["city"] = text
    elif state == EMPLOYER:
        data["employer"] = text
    elif state == PHONE:
        try:
            data["phone"] = parse_phone(text)
        except InvalidPhone as invalid:
            await answer(update, context, phone_problem_text(context, invalid.problem))
            return None
    elif state in (HOME, OTHER):
        await _search(update, context, state, text, data)
        return None
    else:
        await _reprompt(update, context)
        return None
    return await _advance(update, context, data)


async def _search(
    update: Update, context: BotContext, state: str, text: str, data: dict[str, Any]
) -> None:
    async with context.db() as session:
        found = await queries.search_org_units(
            session, text, kinds=[OrgKind.BRANCH], limit=SEARCH_RESULTS
        )
    locale = context.tr.locale
    key = "home" if state == HOME else "other"
    rows = [[(f"{o.code} {o.display_name(locale)}"[:60], f"rlq:{key}:{o.id}")] for o in found]
    if state == HOME:
        rows.append([(context._("I can't find my branch"), "rlq:home:0")])
    elif data.get("type") != RequestType.TRANSFER.value:
        rows.append([(context._("Skip"), "rlq:skip")])
    text_out = (
        context._("Choose your branch:")
        if found
        else context._(
            "No branch matches “{text}”. Try another part of the name or the code."
        ).format(text=escape(text))
    )
    await answer(update, context, text_out, keyboard(rows))


@sender()
async def pressed(update: Update, context: BotContext) -> str | int | None:
    """A button of the request questions."""
    query = update.callback_query
    assert query is not None and query.data is not None
    parts = query.data.split(":")
    async with context.db() as session:
        draft = await FLOW.load(session, update)
    state, data = draft.state, dict(draft.data)
    verb = parts[1]
    if verb == "type" and state == TYPE and parts[2] in {t.value for t in RequestType}:
        data["type"] = parts[2]
        return await _advance(update, context, data, edit=True)
    if verb == "skip" and state in (EMPLOYER, PHONE, OTHER):
        if state == OTHER and data.get("type") == RequestType.TRANSFER.value:
            await refuse(update, context)
            return None
        data[DATA_KEYS[state]] = None
        return await _advance(update, context, data, edit=True)
    if verb == "home" and state == HOME:
        return await _home_chosen(update, context, data, int(parts[2]))
    if verb == "other" and state == OTHER:
        return await _other_chosen(update, context, data, int(parts[2]))
    if verb == "send" and state == CONFIRM:
        return await _send(update, context, data)
    if verb == "stop" and state is not None:
        async with context.db.begin() as session:
            await FLOW.end(session, update)
        await edit_or_answer(update, context, context._("Cancelled. Nothing was saved."))
        return ConversationHandler.END
    await refuse(update, context, context._("This button is no longer active."))
    return None


async def _home_chosen(
    update: Update, context: BotContext, data: dict[str, Any], org_id: int
) -> str | None:
    async with context.db() as session:
        if org_id == 0:
            units = await queries.search_org_units(session, "", kinds=HOME_KINDS, limit=20)
            rows = [
                [(f"{u.code} {u.display_name(context.tr.locale)}"[:60], f"rlq:home:{u.id}")]
                for u in units
            ]
            await edit_or_answer(
                update,
                context,
                context._(
                    "Choose the Party committee your branch was under; its organisation "
                    "department will look at your request."
                ),
                keyboard(rows),
            )
            return None
        org = await queries.org_by_id(session, org_id)
    if org is None or org.kind is OrgKind.PARTY_GROUP:
        await refuse(update, context)
        return None
    data["home_id"] = org.id
    return await _advance(update, context, data, edit=True)


async def _other_chosen(
    update: Update, context: BotContext, data: dict[str, Any], org_id: int
) -> str | None:
    async with context.db() as session:
        org = await queries.org_by_id(session, org_id)
    if org is None or org.kind is not OrgKind.BRANCH:
        await refuse(update, context)
        return None
    if org.id == data.get("home_id"):
        await refuse(update, context, context._("The other branch must not be your home branch."))
        return None
    data["other_id"] = org.id
    return await _advance(update, context, data, edit=True)


async def _send(update: Update, context: BotContext, data: dict[str, Any]) -> str | int | None:
    new = service.NewRequest(
        type=RequestType(data["type"]),
        name=str(data["name"]),
        home_id=int(data["home_id"]),
        receiving_id=int(data["other_id"]) if data.get("other_id") else None,
        join_year=int(data["join_year"]) if data.get("join_year") else None,
        city=str(data["city"]),
        employer=data.get("employer"),
        phone=data.get("phone"),
    )
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.state != CONFIRM:
            return draft.state
        account = await session.get(Account, context.account.id) if context.account else None
        assert account is not None
        outcome = await service.submit_request(
            session, account=account, new=new, now=context.settings.now()
        )
        await FLOW.end(session, update)
    if outcome.problem is not None:
        await edit_or_answer(update, context, problem_text(context.tr, outcome.problem))
        return ConversationHandler.END
    if outcome.refusal is not None or outcome.request is None:
        assert outcome.refusal is not None
        await edit_or_answer(update, context, refusal_text(context.tr, outcome.refusal, None))
        return ConversationHandler.END
    await edit_or_answer(
        update,
        context,
        context._(
            "Your request #{id} was sent to {branch}. I will tell you here when it moves; "
            "send /relink at any time to see its state."
        ).format(id=outcome.request.id, branch=_branch_name(context, outcome.request.home_branch)),
    )
    await send_notices(context, outcome)
    return ConversationHandler.END


def _branch_name(context: BotContext, unit: OrgUnit) -> str:
    return escape(unit.display_name(context.tr.locale))


async def _reprompt(update: Update, context: BotContext) -> None:
    async with context.db() as session:
        draft = await FLOW.load(session, update)
    await _ask(update, context, draft.state or TYPE, dict(draft.data))


def build() -> ConversationHandler[BotContext]:
    """The /relink conversation."""
    text = filters.TEXT & ~filters.COMMAND
    step: list[BaseHandler[Update, BotContext, object]] = [
        CallbackQueryHandler(
            pressed, pattern=r"^rlq:(type:[a-z]{1,12}|skip|home:\d{1,12}|other:\d{1,12}|send|stop)$"
        ),
        MessageHandler(text, text_in),
    ]
    return ConversationHandler(
        entry_points=[
            CommandHandler("relink", relink),
            CallbackQueryHandler(new_pressed, pattern=r"^rlq:new$"),
        ],
        states=dict.fromkeys(STATES, step),
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix="rlq"),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )


def handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """Paging the leaders' list: outside the conversation, so it never ends a draft."""
    return [CallbackQueryHandler(list_page_pressed, pattern=r"^rll:\d{1,4}$")]
