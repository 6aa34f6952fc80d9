"""/invite: secretaries and admins create invites within their scope, for roles up to their own."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.commands import LEADERS
from bot.context import BotContext
from bot.conversation import Flow
from bot.enums import Role
from bot.invites import create_invite, deep_link, parse_duration
from handlers.cancel import conversation_fallbacks
from handlers.common import (
    ROLE_LABELS,
    answer,
    clean_text,
    edit_or_answer,
    escape,
    keyboard,
    offer_matching_nodes,
    refuse,
    sender,
)
from storage import queries
from storage.models import Account, OrgUnit

FLOW = Flow("invite")
ORG, ROLE, USES, EXPIRY = "org", "role", "uses", "expiry"
USES_CHOICES = (1, 5, 20, 50)
EXPIRY_CHOICES = ("1d", "7d", "30d")


def _scope_buttons(context: BotContext) -> list[list[tuple[str, str]]]:
    grants = context.principal.led_branches() + context.principal.admin_grants()
    seen: set[int] = set()
    rows = []
    for grant in grants:
        if grant.org_id not in seen:
            seen.add(grant.org_id)
            rows.append([(grant.org_code, f"inv:org:{grant.org_id}")])
    return rows


@sender(registered=True, roles=LEADERS)
async def start_invite(update: Update, context: BotContext) -> str | None:
    """Ask which node the invite is for (skipped when the sender leads just one branch)."""
    rows = _scope_buttons(context)
    if len(rows) == 1 and not context.principal.admin_grants():
        org_id = int(rows[0][0][1].rsplit(":", 1)[1])
        return await _choose_org(update, context, org_id)
    async with context.db.begin() as session:
        await FLOW.save(session, update, state=ORG, data={})
    await _ask_org(update, context)
    return ORG


async def _ask_org(update: Update, context: BotContext) -> None:
    text = context._(
        "Who is the invite for? Choose a node, or type a branch code or name to search."
    )
    await answer(update, context, text, keyboard(_scope_buttons(context)))


async def _choose_org(update: Update, context: BotContext, org_id: int) -> str | None:
    async with context.db.begin() as session:
        org = await queries.org_by_id(session, org_id)
        roles = context.principal.invitable_roles(org.path, org.id, org.kind) if org else []
        if org is None or not roles:
            await refuse(
                update, context, context._("You can only invite people within your own scope.")
            )
            return None
        draft = await FLOW.load(session, update)
        await FLOW.save(session, update, state=ROLE, data={**draft.data, "org_id": org.id})
    rows = [[(context._(ROLE_LABELS[role]), f"inv:role:{role.value}")] for role in roles]
    text = context._("Invite to {org}. Which role?").format(
        org=escape(org.display_name(context.tr.locale))
    )
    await edit_or_answer(update, context, text, keyboard(rows))
    return ROLE


@sender(registered=True, roles=LEADERS)
async def org_pressed(update: Update, context: BotContext) -> str | None:
    """A node button was pressed."""
    assert update.callback_query is not None and update.callback_query.data is not None
    return await _choose_org(update, context, int(update.callback_query.data.rsplit(":", 1)[1]))


@sender(registered=True, roles=LEADERS)
async def org_typed(update: Update, context: BotContext) -> str | None:
    """Search the sender's scope for a branch by code or name."""
    text = clean_text(update.effective_message.text if update.effective_message else None)
    if text is None:
        await _ask_org(update, context)
        return None
    principal = context.principal
    await offer_matching_nodes(
        update,
        context,
        text,
        usable=lambda o: bool(principal.invitable_roles(o.path, o.id, o.kind)),
        data="inv:org:",
    )
    return None


@sender(registered=True, roles=LEADERS)
async def role_pressed(update: Update, context: BotContext) -> str | None:
    """Store the role and ask how many people may use the invite."""
    assert update.callback_query is not None and update.callback_query.data is not None
    value = update.callback_query.data.rsplit(":", 1)[1]
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        org = await queries.org_by_id(session, int(draft.data.get("org_id", 0)))
        try:
            role = Role(value)
        except ValueError:
            role = None
        if (
            org is None
            or role is None
            or not context.principal.may_invite(role, org.path, org.id, org.kind)
        ):
            await refuse(
                update, context, context._("You can only invite people within your own scope.")
            )
            return None
        await FLOW.save(session, update, state=USES, data={**draft.data, "role": role.value})
    rows = [[(str(n), f"inv:uses:{n}") for n in USES_CHOICES]]
    await edit_or_answer(
        update, context, context._("How many people may use this invite?"), keyboard(rows)
    )
    return USES


@sender(registered=True, roles=LEADERS)
async def uses_pressed(update: Update, context: BotContext) -> str | None:
    """Store the number of uses and ask how long the invite stays valid."""
    assert update.callback_query is not None and update.callback_query.data is not None
    uses = int(update.callback_query.data.rsplit(":", 1)[1])
    if uses not in USES_CHOICES:
        await refuse(update, context)
        return None
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        await FLOW.save(session, update, state=EXPIRY, data={**draft.data, "uses": uses})
    labels = {"1d": context._("1 day"), "7d": context._("7 days"), "30d": context._("30 days")}
    rows = [[(labels[e], f"inv:exp:{e}") for e in EXPIRY_CHOICES]]
    await edit_or_answer(
        update, context, context._("How long should it stay valid?"), keyboard(rows)
    )
    return EXPIRY


@sender(registered=True, roles=LEADERS)
async def expiry_pressed(update: Update, context: BotContext) -> int | None:
    """Create the invite and show its code and link."""
    assert update.callback_query is not None and update.callback_query.data is not None
    choice = update.callback_query.data.rsplit(":", 1)[1]
    if choice not in EXPIRY_CHOICES:
        await refuse(update, context)
        return None
    async with context.db.begin() as session:
        draft = await FLOW.load(session, update)
        org = await session.get(OrgUnit, int(draft.data.get("org_id", 0)))
        role = Role(str(draft.data.get("role")))
        if org is None or not context.principal.may_invite(role, org.path, org.id, org.kind):
            await refuse(
                update, context, context._("You can only invite people within your own scope.")
            )
            return None
        account = await session.get(Account, context.account.id) if context.account else None
        code, invite = await create_invite(
            session,
            role=role,
            org=org,
            now=context.settings.now(),
            uses=int(draft.data.get("uses", 1)),
            valid_for=parse_duration(choice),
            created_by=account,
        )
        await FLOW.end(session, update)
    link = deep_link(context.bot.username, code)
    text = context._(
        "Invite created: {role} of {org}, usable {uses} time(s), valid until {until}.\n\n"
        "Code: <code>{code}</code>\nLink: {link}\n\nForward the link to the person; "
        "the code is shown only this once."
    ).format(
        role=context._(ROLE_LABELS[role]),
        org=escape(org.display_name(context.tr.locale)),
        uses=invite.max_uses,
        until=context.tr.datetime(invite.expires_at, "short"),
        code=code,
        link=link,
    )
    await edit_or_answer(update, context, text)
    return ConversationHandler.END


async def _reprompt(update: Update, context: BotContext) -> None:
    await answer(
        update, context, context._("Please use the buttons above, or send /cancel to stop.")
    )


def build() -> ConversationHandler[BotContext]:
    """The /invite conversation."""
    return ConversationHandler(
        entry_points=[CommandHandler("invite", start_invite)],
        states={
            ORG: [
                CallbackQueryHandler(org_pressed, pattern=r"^inv:org:\d{1,12}$"),
                MessageHandler(filters.TEXT & ~filters.COMMAND, org_typed),
            ],
            ROLE: [CallbackQueryHandler(role_pressed, pattern=r"^inv:role:[a-z]{1,12}$")],
            USES: [CallbackQueryHandler(uses_pressed, pattern=r"^inv:uses:\d{1,4}$")],
            EXPIRY: [CallbackQueryHandler(expiry_pressed, pattern=r"^inv:exp:\d{1,3}d$")],
        },
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix="inv"),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )
