"""/training: admins schedule trainings and record attendance; invitees answer, see records."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession
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
from bot.enums import Role, TrainingAudience, TrainingKind
from bot.i18n import N_
from bot.reminders.engine import tick_now
from bot.reminders.render import training_line, when
from bot.reminders.trainings import (
    answer_invitation,
    cancel_training,
    schedule_training,
    toggle_attendance,
)
from bot.rules.dates import parse_future_datetime
from handlers.cancel import conversation_fallbacks
from handlers.common import (
    Page,
    answer,
    clean_text,
    edit_or_answer,
    escape,
    keyboard,
    offer_matching_nodes,
    refuse,
    sender,
)
from handlers.flow import Flow
from storage import queries
from storage import reminder_queries as rq
from storage.models import Account, OrgUnit
from storage.models_reminders import Training

FLOW = Flow("training")
ORG, TITLE, WHEN, PLACE, AUDIENCE, KIND, CONFIRM = (
    "org",
    "title",
    "when",
    "place",
    "audience",
    "kind",
    "confirm",
)
ADMINS = frozenset({Role.ADMIN})
PLACE_LIMIT = 300
# Attendance lists are one button per invitee; beyond this the admin pages through names.
ATTENDANCE_PAGE = 30

AUDIENCE_LABELS: dict[TrainingAudience, str] = {
    TrainingAudience.SECRETARIES: N_("branch secretaries"),
    TrainingAudience.COMMITTEE: N_("branch committee members (secretaries and deputies)"),
    TrainingAudience.EVERYONE: N_("everyone in the organisation"),
}
KIND_LABELS: dict[TrainingKind, str] = {
    TrainingKind.ROTATION: N_("rotation training"),
    TrainingKind.INDUCTION: N_("induction training for new secretaries"),
}


def _admin_org_ids(context: BotContext) -> list[int]:
    seen: list[int] = []
    for grant in context.principal.admin_grants():
        if grant.org_id not in seen:
            seen.append(grant.org_id)
    return seen


def _training_line(context: BotContext, training: Training) -> str:
    return training_line(context.tr, training)


# ---- the menu and the yearly record -----------------------------------------------------------


MENU_PAGE = 8


@sender(registered=True)
async def training_menu(update: Update, context: BotContext) -> None:
    """Admins: schedule or open a training. Everyone else: their training record this year."""
    if context.principal.admin_grants():
        await _menu_page(update, context, 0)
        return
    await answer(update, context, await _record_text(context, context.settings.now()))


@sender(registered=True, roles=ADMINS)
async def menu_page_pressed(update: Update, context: BotContext) -> None:
    """‹ Earlier / Later ›: another page of the admin's trainings."""
    assert update.callback_query is not None and update.callback_query.data is not None
    await _menu_page(update, context, int(update.callback_query.data.split(":")[2]))


async def _menu_page(update: Update, context: BotContext, page: int) -> None:
    # From a month back, so attendance can still be recorded for recent ones.
    since = context.settings.now() - dt.timedelta(days=30)
    paths = [g.org_path for g in context.principal.admin_grants()]
    async with context.db() as session:
        trainings, total = await rq.trainings_in_subtrees(
            session, paths, since=since, offset=page * MENU_PAGE, limit=MENU_PAGE
        )
        shown = Page.of(page, total, MENU_PAGE)
        if shown.index != page:
            trainings, total = await rq.trainings_in_subtrees(
                session, paths, since=since, offset=shown.offset, limit=MENU_PAGE
            )
    rows: list[list[tuple[str, str]]] = [[(context._("➕ New training"), "trn:new")]]
    for training in trainings:
        label = f"{when(context.tr, training.starts_at)} {training.title}"
        rows.append([(label[:60], f"trn:v:{training.id}")])
    nav = shown.buttons("trn:m:{}", context._("‹ Earlier"), context._("Later ›"))
    if nav:
        rows.append(nav)
    text = context._("Trainings: schedule a new one, or open one to see answers and attendance.")
    await edit_or_answer(
        update, context, f"{text} {shown.caption(context)}".rstrip(), keyboard(rows)
    )


async def _record_text(context: BotContext, now: dt.datetime) -> str:
    person_id = context.principal.person_id
    year = now.astimezone(context.tr.tz).year
    start = dt.datetime(year, 1, 1, tzinfo=context.tr.tz).astimezone(dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=context.tr.tz).astimezone(dt.UTC)
    async with context.db() as session:
        attended = (
            await rq.training_record(session, person_id=person_id, year_start=start, year_end=end)
            if person_id is not None
            else []
        )
    if not attended:
        return context._("You have no recorded trainings in {year} yet.").format(year=year)
    lines = [
        context._("<b>Your trainings in {year}</b>").format(year=year),
        *("• " + _training_line(context, training) for training in attended),
    ]
    return "\n".join(lines)


# ---- invitees answer ------------------------------------------------------------------------


@sender(registered=True)
async def rsvp_pressed(update: Update, context: BotContext) -> None:
    """An invitee pressed "I will attend" or "I can't attend"."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, choice, raw_id = query.data.split(":")
    person_id = context.principal.person_id
    async with context.db.begin() as session:
        training = await rq.training_by_id(session, int(raw_id))
        answered = (
            training is not None
            and training.cancelled_at is None
            and training.starts_at > context.settings.now()
            and person_id is not None
            and context.account is not None
            and await answer_invitation(
                session,
                training=training,
                person_id=person_id,
                account_id=context.account.id,
                attend=choice == "y",
            )
        )
    if not answered or training is None:
        await refuse(update, context, context._("This invitation is no longer open."))
        return
    if choice == "y":
        status = context._("✓ You will attend. I will remind you a day and an hour before.")
    else:
        status = context._("You will not attend. The organiser can see your answer.")
    text = "📚 " + context._("You are invited to a training: {training}").format(
        training=_training_line(context, training)
    )
    buttons = [
        [
            (context._("I will attend"), f"trn:y:{training.id}"),
            (context._("I can't attend"), f"trn:n:{training.id}"),
        ]
    ]
    await edit_or_answer(update, context, text + "\n\n" + status, keyboard(buttons))


# ---- admins: view and attendance ------------------------------------------------------------


async def _own_training(
    context: BotContext, session: AsyncSession, training_id: int
) -> Training | None:
    training = await rq.training_by_id(session, training_id)
    if training is None:
        return None
    org = await queries.org_by_id(session, training.org_unit_id)
    if org is None or not context.principal.is_admin_of(org.path):
        return None
    return training


@sender(registered=True, roles=ADMINS)
async def view_pressed(update: Update, context: BotContext) -> None:
    """A training's answers, and the attendance button once it has started."""
    query = update.callback_query
    assert query is not None and query.data is not None
    async with context.db() as session:
        training = await _own_training(context, session, int(query.data.rsplit(":", 1)[1]))
        people = await rq.invitees(session, training.id) if training else []
    if training is None:
        await refuse(update, context)
        return
    yes = sum(1 for invitee, _ in people if invitee.rsvp == "yes")
    no = sum(1 for invitee, _ in people if invitee.rsvp == "no")
    came = sum(1 for invitee, _ in people if invitee.attended)
    text = "\n".join(
        [
            "📚 " + _training_line(context, training),
            context._(
                "Invited: {invited}. Attending: {yes}. Not attending: {no}. No answer: {open}."
            ).format(invited=len(people), yes=yes, no=no, open=len(people) - yes - no),
            context._("Attended: {came}.").format(came=came)
            if training.attendance_recorded_at
            else "",
        ]
    ).strip()
    if training.cancelled_at is not None:
        text += "\n" + context._("Cancelled on {date}.").format(
            date=when(context.tr, training.cancelled_at)
        )
    rows = []
    if training.cancelled_at is None and training.starts_at <= context.settings.now():
        rows.append([(context._("Record attendance"), f"trn:att:{training.id}:0")])
    elif training.cancelled_at is None:
        rows.append([(context._("Cancel this training"), f"trn:c:{training.id}")])
    await edit_or_answer(update, context, text, keyboard(rows) if rows else None)


def _still_open(training: Training | None, now: dt.datetime) -> bool:
    return training is not None and training.cancelled_at is None and training.starts_at > now


@sender(registered=True, roles=ADMINS)
async def cancel_pressed(update: Update, context: BotContext) -> None:
    """Ask before calling a training off: its invitees will be told."""
    query = update.callback_query
    assert query is not None and query.data is not None
    training_id = int(query.data.rsplit(":", 1)[1])
    async with context.db() as session:
        training = await _own_training(context, session, training_id)
    if training is None or not _still_open(training, context.settings.now()):
        await refuse(update, context, context._("This training can no longer be cancelled."))
        return
    text = context._(
        "Cancel the training {training}? Everyone who was invited and has not declined will be "
        "told it will not take place. This cannot be undone."
    ).format(training=_training_line(context, training))
    rows = [
        [(context._("Yes, cancel the training"), f"trn:cy:{training.id}")],
        [(context._("No, keep it"), f"trn:v:{training.id}")],
    ]
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True, roles=ADMINS)
async def cancel_confirmed(update: Update, context: BotContext) -> None:
    """Call the training off, withdraw its reminders and tell those who were invited."""
    query = update.callback_query
    assert query is not None and query.data is not None
    now = context.settings.now()
    async with context.db.begin() as session:
        training = await _own_training(context, session, int(query.data.rsplit(":", 1)[1]))
        told = None
        if training is not None and _still_open(training, now):
            told = await cancel_training(session, training=training, now=now)
            account = await session.get(Account, context.account.id) if context.account else None
            await queries.audit(
                session,
                action="training.cancel",
                actor=account,
                target_type="training",
                target_id=training.id,
                org_unit_id=training.org_unit_id,
                details={"told": told},
            )
    if training is None or told is None:
        await refuse(update, context, context._("This training can no longer be cancelled."))
        return
    tick_now(context.job_queue)
    text = context.tr.ngettext(
        "Cancelled: {training}. {count} person will be told.",
        "Cancelled: {training}. {count} people will be told.",
        told,
    ).format(training=_training_line(context, training), count=told)
    await edit_or_answer(update, context, text)


async def _attendance(update: Update, context: BotContext, training_id: int, page: int) -> None:
    async with context.db() as session:
        training = await _own_training(context, session, training_id)
        people = await rq.invitees(session, training_id) if training else []
    if training is None or training.starts_at > context.settings.now():
        await refuse(update, context)
        return
    shown = Page.of(page, len(people), ATTENDANCE_PAGE)
    chunk = people[shown.offset : shown.offset + ATTENDANCE_PAGE]
    rows = [
        [
            (
                ("✅ " if invitee.attended else "▫️ ") + name,
                f"trn:a:{training_id}:{invitee.person_id}:{shown.index}",
            )
        ]
        for invitee, name in chunk
    ]
    navigation = shown.buttons(f"trn:att:{training_id}:{{}}", "◀", "▶")
    if navigation:
        rows.append(navigation)
    rows.append([(context._("Done"), f"trn:v:{training_id}")])
    text = context._("Who attended “{title}”? Press a name to mark or unmark it.").format(
        title=escape(training.title)
    )
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True, roles=ADMINS)
async def attendance_pressed(update: Update, context: BotContext) -> None:
    """Show the attendance list of a training (one page)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, _, training_id, page = query.data.split(":")
    await _attendance(update, context, int(training_id), int(page))


@sender(registered=True, roles=ADMINS)
async def attended_pressed(update: Update, context: BotContext) -> None:
    """Mark or unmark one invitee as present."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, _, training_id, person_id, page = query.data.split(":")
    async with context.db.begin() as session:
        training = await _own_training(context, session, int(training_id))
        changed = (
            await toggle_attendance(
                session, training=training, person_id=int(person_id), now=context.settings.now()
            )
            if training is not None and training.starts_at <= context.settings.now()
            else None
        )
        if changed is not None and training is not None:
            await queries.audit(
                session,
                action="training.attendance",
                actor=context.account,
                target_type="training",
                target_id=training.id,
                org_unit_id=training.org_unit_id,
                details={"person_id": int(person_id), "attended": changed},
            )
    if changed is None:
        await refuse(update, context)
        return
    await _attendance(update, context, int(training_id), int(page))


# ---- admins: scheduling (a crash-safe conversation) -----------------------------------------


@sender(registered=True, roles=ADMINS)
async def new_pressed(update: Update, context: BotContext) -> str | None:
    """Start scheduling: ask for the node when the admin has several, else the title."""
    org_ids = _admin_org_ids(context)
    if len(org_ids) == 1:
        async with context.db.begin() as session:
            await FLOW.save(session, update, state=TITLE, data={"org_id": org_ids[0]})
        await _ask_title(update, context)
        return TITLE
    rows = []
    async with context.db.begin() as session:
        for org_id in org_ids:
            org = await queries.org_by_id(session, org_id)
            if org is not None:
                rows.append([(org.display_name(context.tr.locale)[:60], f"trn:org:{org.id}")])
        await FLOW.save(session, update, state=ORG, data={})
    await edit_or_answer(update, context, context._("For which organisation?"), keyboard(rows))
    return ORG


@sender(registered=True, roles=ADMINS)
async def org_pressed(update: Update, context: BotContext) -> str | None:
    """Store the node and ask for the title."""
    query = update.callback_query
    assert query is not None and query.data is not None
    org_id = int(query.data.rsplit(":", 1)[1])
    if org_id not in _admin_org_ids(context):
        await refuse(update, context)
        return None
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.seen(update):
            return None
        await FLOW.save(session, update, state=TITLE, data={"org_id": org_id})
    await _ask_title(update, context)
    return TITLE


async def _ask_title(update: Update, context: BotContext) -> None:
    await edit_or_answer(update, context, context._("What is the training called?"))


@sender(registered=True, roles=ADMINS)
async def title_typed(update: Update, context: BotContext) -> str | None:
    """Store the title and ask when it starts."""
    title = clean_text(update.effective_message.text if update.effective_message else None)
    if title is None:
        await answer(
            update, context, context._("Please send a short title (up to 100 characters).")
        )
        return None
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.seen(update):
            return None
        await FLOW.save(session, update, state=WHEN, data={**draft.data, "title": title})
    await _ask_when(update, context)
    return WHEN


def _when_question(context: BotContext) -> str:
    return context._(
        "When does it start? Send the date and time in your time zone ({zone}), "
        "for example 2026-12-05 14:30 or 12-05 14:30."
    ).format(zone=context.tr.time_zone)


async def _ask_when(update: Update, context: BotContext) -> None:
    await answer(update, context, _when_question(context))


@sender(registered=True, roles=ADMINS)
async def when_typed(update: Update, context: BotContext) -> str | None:
    """Store the start time (in the admin's zone) and ask where."""
    text = update.effective_message.text if update.effective_message else None
    starts_at = parse_future_datetime(text or "", context.settings.now(), context.tr.tz)
    if starts_at is None:
        await answer(
            update,
            context,
            context._("I could not read that as a future date and time."),
        )
        await _ask_when(update, context)
        return None
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.seen(update):
            return None
        await FLOW.save(
            session, update, state=PLACE, data={**draft.data, "starts_at": starts_at.isoformat()}
        )
    await answer(update, context, context._("Where is it? Send the place or the online link."))
    return PLACE


@sender(registered=True, roles=ADMINS)
async def place_typed(update: Update, context: BotContext) -> str | None:
    """Store the place and ask who is invited."""
    place = clean_text(
        update.effective_message.text if update.effective_message else None, limit=PLACE_LIMIT
    )
    if place is None:
        await answer(
            update,
            context,
            context._("That is too long (at most {limit} characters).").format(limit=PLACE_LIMIT),
        )
        return None
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        if draft.seen(update):
            return None
        await FLOW.save(session, update, state=AUDIENCE, data={**draft.data, "place": place})
        org = await queries.org_by_id(session, int(draft.data.get("org_id", 0)))
    await _ask_audience(update, context, org)
    return AUDIENCE


async def _ask_audience(update: Update, context: BotContext, org: OrgUnit | None) -> None:
    rows = [
        [(context._(label), f"trn:aud:{audience.value}")]
        for audience, label in AUDIENCE_LABELS.items()
    ]
    text = context._(
        "Who in {org} is invited? To invite only part of it, type a code or name."
    ).format(org=escape(org.display_name(context.tr.locale)) if org else "?")
    await edit_or_answer(update, context, text, keyboard(rows))


@sender(registered=True, roles=ADMINS)
async def part_typed(update: Update, context: BotContext) -> str | None:
    """Search the admin's subtree for the node whose people are invited."""
    text = clean_text(update.effective_message.text if update.effective_message else None)
    if text is None:
        await _reprompt(update, context)
        return None
    principal = context.principal
    await offer_matching_nodes(
        update, context, text, usable=lambda o: principal.is_admin_of(o.path), data="trn:sub:"
    )
    return None


@sender(registered=True, roles=ADMINS)
async def part_pressed(update: Update, context: BotContext) -> str | None:
    """Invite only the people of the chosen node's subtree."""
    query = update.callback_query
    assert query is not None and query.data is not None
    async with context.db.begin() as session:
        org = await queries.org_by_id(session, int(query.data.rsplit(":", 1)[1]))
        if org is None or not context.principal.is_admin_of(org.path):
            await refuse(update, context)
            return None
        draft = await FLOW.load(session, update)
        await FLOW.save(session, update, state=AUDIENCE, data={**draft.data, "org_id": org.id})
    await _ask_audience(update, context, org)
    return AUDIENCE


@sender(registered=True, roles=ADMINS)
async def audience_pressed(update: Update, context: BotContext) -> str | None:
    """Store the audience and ask which kind of training it is."""
    query = update.callback_query
    assert query is not None and query.data is not None
    try:
        audience = TrainingAudience(query.data.rsplit(":", 1)[1])
    except ValueError:
        await refuse(update, context)
        return None
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        await FLOW.save(session, update, state=KIND, data={**draft.data, "audience": audience})
    rows = [[(context._(label), f"trn:kind:{kind.value}")] for kind, label in KIND_LABELS.items()]
    await edit_or_answer(update, context, context._("Which kind of training?"), keyboard(rows))
    return KIND


@sender(registered=True, roles=ADMINS)
async def kind_pressed(update: Update, context: BotContext) -> str | None:
    """Store the kind and show the summary to confirm."""
    query = update.callback_query
    assert query is not None and query.data is not None
    try:
        kind = TrainingKind(query.data.rsplit(":", 1)[1])
    except ValueError:
        await refuse(update, context)
        return None
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        data = {**draft.data, "kind": kind.value}
        await FLOW.save(session, update, state=CONFIRM, data=data)
        org = await queries.org_by_id(session, int(data.get("org_id", 0)))
    starts_at = dt.datetime.fromisoformat(str(data["starts_at"]))
    summary = context._(
        "<b>{title}</b>\n{kind}\nWhen: {time}\nWhere: {place}\nInvited: {audience} of {org}\n\n"
        "Schedule it and send the invitations?"
    ).format(
        title=escape(str(data["title"])),
        kind=context._(KIND_LABELS[kind]),
        time=when(context.tr, starts_at),
        place=escape(str(data["place"])),
        audience=context._(AUDIENCE_LABELS[TrainingAudience(str(data["audience"]))]),
        org=escape(org.display_name(context.tr.locale)) if org else "?",
    )
    rows = [[(context._("Schedule"), "trn:ok"), (context._("Cancel"), "trn:no")]]
    await edit_or_answer(update, context, summary, keyboard(rows))
    return CONFIRM


@sender(registered=True, roles=ADMINS)
async def confirm_pressed(update: Update, context: BotContext) -> int | str | None:
    """Schedule the training, invite its audience and wake the reminder tick."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if query.data == "trn:no":
        async with context.db.begin() as session:
            await FLOW.end(session, update)
        await edit_or_answer(update, context, context._("Cancelled. Nothing was saved."))
        return ConversationHandler.END
    now = context.settings.now()
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        data = draft.data
        org = await queries.org_by_id(session, int(data.get("org_id", 0)))
        if org is None or not context.principal.is_admin_of(org.path) or "starts_at" not in data:
            await refuse(update, context)
            return None
        starts_at = dt.datetime.fromisoformat(str(data["starts_at"]))
        if starts_at <= now:
            # A draft left open past its own start time: ask for the time again.
            await FLOW.save(session, update, state=WHEN, data=data)
            training, invited = None, 0
        else:
            account = await session.get(Account, context.account.id) if context.account else None
            training, invited = await schedule_training(
                session,
                org=org,
                kind=TrainingKind(str(data["kind"])),
                audience=TrainingAudience(str(data["audience"])),
                title=str(data["title"]),
                place=str(data["place"]),
                starts_at=starts_at,
                created_by=account,
                now=now,
            )
            await queries.audit(
                session,
                action="training.schedule",
                actor=account,
                target_type="training",
                target_id=training.id,
                org_unit_id=org.id,
                details={"invited": invited},
            )
            await FLOW.end(session, update)
    if training is None:
        text = context._("I could not read that as a future date and time.")
        await edit_or_answer(update, context, text + "\n\n" + _when_question(context))
        return WHEN
    tick_now(context.job_queue)
    text = context.tr.ngettext(
        "Scheduled: {training}. {count} person invited.",
        "Scheduled: {training}. {count} people invited.",
        invited,
    ).format(training=_training_line(context, training), count=invited)
    await edit_or_answer(update, context, text)
    return ConversationHandler.END


async def _reprompt(update: Update, context: BotContext) -> None:
    await answer(
        update,
        context,
        context._("Please answer the question above, or send /cancel to stop."),
    )


def build() -> ConversationHandler[BotContext]:
    """The scheduling conversation, entered by the menu's "New training" button."""
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CallbackQueryHandler(new_pressed, pattern=r"^trn:new$")],
        states={
            ORG: [CallbackQueryHandler(org_pressed, pattern=r"^trn:org:\d{1,12}$")],
            TITLE: [MessageHandler(text, title_typed)],
            WHEN: [MessageHandler(text, when_typed)],
            PLACE: [MessageHandler(text, place_typed)],
            AUDIENCE: [
                CallbackQueryHandler(audience_pressed, pattern=r"^trn:aud:[a-z]{1,16}$"),
                CallbackQueryHandler(part_pressed, pattern=r"^trn:sub:\d{1,12}$"),
                MessageHandler(text, part_typed),
            ],
            KIND: [CallbackQueryHandler(kind_pressed, pattern=r"^trn:kind:[a-z]{1,16}$")],
            CONFIRM: [CallbackQueryHandler(confirm_pressed, pattern=r"^trn:(ok|no)$")],
        },
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix="trn"),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )


def buttons() -> list[BaseHandler[Update, BotContext, object]]:
    """Buttons on invitations, answered whatever conversation the invitee is in."""
    return [CallbackQueryHandler(rsvp_pressed, pattern=r"^trn:[yn]:\d{1,12}$")]


def handlers() -> list[BaseHandler[Update, BotContext, object]]:
    """The /training command and the admin's view and attendance buttons."""
    return [
        CommandHandler("training", training_menu),
        CallbackQueryHandler(menu_page_pressed, pattern=r"^trn:m:\d{1,4}$"),
        CallbackQueryHandler(view_pressed, pattern=r"^trn:v:\d{1,12}$"),
        CallbackQueryHandler(cancel_pressed, pattern=r"^trn:c:\d{1,12}$"),
        CallbackQueryHandler(cancel_confirmed, pattern=r"^trn:cy:\d{1,12}$"),
        CallbackQueryHandler(attendance_pressed, pattern=r"^trn:att:\d{1,12}:\d{1,4}$"),
        CallbackQueryHandler(attended_pressed, pattern=r"^trn:a:\d{1,12}:\d{1,12}:\d{1,4}$"),
    ]
