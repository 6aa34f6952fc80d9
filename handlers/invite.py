"""/invite: secretaries and admins create invites within their scope, for roles up to their own."""

from __future__ import annotations

from typing import Literal

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.access import Grant
from bot.commands import LEADERS
from bot.context import BotContext
from bot.enums import Role
from bot.invites import InvitePolicy, create_invite, deep_link, parse_duration
from handlers.buttons import Button
from handlers.cancel import conversation_fallbacks
from handlers.common import (
    ROLE_LABELS,
    Refused,
    answer,
    clean_text,
    escape,
    keyboard,
    offer_matching_nodes,
)
from handlers.flow import Flow, Step
from storage import queries
from storage.models import OrgUnit

FLOW = Flow("invite")
ORG, ROLE, USES, EXPIRY = "org", "role", "uses", "expiry"
USES_CHOICES = (1, 5, 20, 50)
Expiry = Literal["1d", "7d", "30d"]
EXPIRY_CHOICES: tuple[Expiry, ...] = ("1d", "7d", "30d")


class OrgButton(Button, prefix="inv:org"):
    org_id: int


class RoleButton(Button, prefix="inv:role"):
    role: Role


class UsesButton(Button, prefix="inv:uses"):
    uses: int


class ExpiryButton(Button, prefix="inv:exp"):
    expiry: Expiry


def _scope_grants(context: BotContext) -> list[Grant]:
    """The nodes the sender may invite to, each once."""
    grants = context.principal.led_branches() + context.principal.admin_grants()
    return list({grant.org_id: grant for grant in grants}.values())


def _scope_buttons(context: BotContext) -> list[list[tuple[str, str]]]:
    return [[(grant.org_code, OrgButton(grant.org_id).data)] for grant in _scope_grants(context)]


def _outside_scope(context: BotContext) -> Refused:
    return Refused(context._("You can only invite people within your own scope."))


@FLOW.step(registered=True, roles=LEADERS, entry=True)
async def start_invite(update: Update, context: BotContext, step: Step) -> str | None:
    """Ask which node the invite is for (skipped when the sender leads just one branch)."""
    grants = _scope_grants(context)
    if len(grants) == 1 and not context.principal.admin_grants():
        return await _choose_org(context, step, grants[0].org_id)
    step.then(_ask_org)
    return ORG


async def _ask_org(update: Update, context: BotContext) -> None:
    text = context._(
        "Who is the invite for? Choose a node, or type a branch code or name to search."
    )
    await answer(update, context, text, keyboard(_scope_buttons(context)))


async def _choose_org(context: BotContext, step: Step, org_id: int) -> str:
    org = await queries.org_by_id(step.session, org_id)
    roles = context.principal.invitable_roles(org.path, org.id, org.kind) if org else []
    if org is None or not roles:
        raise _outside_scope(context)
    step.data["org_id"] = org.id
    rows = [[(context._(ROLE_LABELS[role]), RoleButton(role).data)] for role in roles]
    text = context._("Invite to {org}. Which role?").format(
        org=escape(org.display_name(context.tr.locale))
    )
    step.edit(text, keyboard(rows))
    return ROLE


@FLOW.step(registered=True, roles=LEADERS)
async def org_pressed(update: Update, context: BotContext, step: Step) -> str | None:
    """A node button was pressed."""
    return await _choose_org(context, step, OrgButton.read(update).org_id)


@FLOW.step(registered=True, roles=LEADERS)
async def org_typed(update: Update, context: BotContext, step: Step) -> str | None:
    """Search the sender's scope for a branch by code or name."""
    text = clean_text(update.effective_message.text if update.effective_message else None)
    if text is None:
        step.then(_ask_org)
        return None
    principal = context.principal

    async def offer(update: Update, context: BotContext) -> None:
        await offer_matching_nodes(
            update,
            context,
            text,
            usable=lambda o: bool(principal.invitable_roles(o.path, o.id, o.kind)),
            data=lambda org_id: OrgButton(org_id).data,
        )

    step.then(offer)
    return None


async def _draft_org(context: BotContext, step: Step, role: Role) -> OrgUnit:
    """The node chosen earlier, if the sender may still invite to it with this role."""
    org = await queries.org_by_id(step.session, int(step.data.get("org_id", 0)))
    if org is None or not context.principal.may_invite(role, org.path, org.id, org.kind):
        raise _outside_scope(context)
    return org


def _uses_choices(context: BotContext) -> list[int]:
    """The offered numbers of uses, within ZHIBU_INVITE_MAX_USES."""
    return [n for n in USES_CHOICES if n <= context.settings.invite_max_uses] or [1]


def _expiry_choices(context: BotContext) -> list[Expiry]:
    """The offered validities, within ZHIBU_INVITE_MAX_DAYS."""
    limit = InvitePolicy.of(context.settings).max_valid_for
    return [e for e in EXPIRY_CHOICES if parse_duration(e) <= limit] or ["1d"]


@FLOW.step(registered=True, roles=LEADERS)
async def role_pressed(update: Update, context: BotContext, step: Step) -> str | None:
    """Store the role and ask how many people may use the invite."""
    role = RoleButton.read(update).role
    await _draft_org(context, step, role)
    step.data["role"] = role.value
    rows = [[(str(n), UsesButton(n).data) for n in _uses_choices(context)]]
    step.edit(context._("How many people may use this invite?"), keyboard(rows))
    return USES


@FLOW.step(registered=True, roles=LEADERS)
async def uses_pressed(update: Update, context: BotContext, step: Step) -> str | None:
    """Store the number of uses and ask how long the invite stays valid."""
    uses = UsesButton.read(update).uses
    if uses not in _uses_choices(context):
        raise Refused()
    step.data["uses"] = uses
    labels = {"1d": context._("1 day"), "7d": context._("7 days"), "30d": context._("30 days")}
    rows = [[(labels[e], ExpiryButton(e).data) for e in _expiry_choices(context)]]
    step.edit(context._("How long should it stay valid?"), keyboard(rows))
    return EXPIRY


def _draft_role(step: Step) -> Role:
    """The role chosen earlier (a draft that lost it, e.g. to retention, starts again)."""
    try:
        return Role(str(step.data.get("role")))
    except ValueError:
        raise Refused() from None


@FLOW.step(registered=True, roles=LEADERS)
async def expiry_pressed(update: Update, context: BotContext, step: Step) -> int | None:
    """Create the invite and show its code and link."""
    choice = ExpiryButton.read(update).expiry
    if choice not in _expiry_choices(context):
        raise Refused()
    role = _draft_role(step)
    org = await _draft_org(context, step, role)
    code, invite = await create_invite(
        step.session,
        policy=InvitePolicy.of(context.settings),
        role=role,
        org=org,
        now=context.settings.now(),
        uses=int(step.data.get("uses", 1)),
        valid_for=parse_duration(choice),
        created_by=context.account,
    )
    link = deep_link(context.bot.username, code)
    text = context.tr.ngettext(
        "Invite created: {role} of {org}, usable {uses} time, valid until {until}.\n\n"
        "Code: <code>{code}</code>\nLink: {link}\n\nForward the link to the person; "
        "the code is shown only this once.",
        "Invite created: {role} of {org}, usable {uses} times, valid until {until}.\n\n"
        "Code: <code>{code}</code>\nLink: {link}\n\nForward the link to the person; "
        "the code is shown only this once.",
        invite.max_uses,
    ).format(
        role=context._(ROLE_LABELS[role]),
        org=escape(org.display_name(context.tr.locale)),
        uses=invite.max_uses,
        until=context.tr.datetime(invite.expires_at),
        code=code,
        link=link,
    )
    step.edit(text)
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
                CallbackQueryHandler(org_pressed, pattern=OrgButton.pattern),
                MessageHandler(filters.TEXT & ~filters.COMMAND, org_typed),
            ],
            ROLE: [CallbackQueryHandler(role_pressed, pattern=RoleButton.pattern)],
            USES: [CallbackQueryHandler(uses_pressed, pattern=UsesButton.pattern)],
            EXPIRY: [CallbackQueryHandler(expiry_pressed, pattern=ExpiryButton.pattern)],
        },
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix="inv"),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )
