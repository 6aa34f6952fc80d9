"""/access: admins take access away within their subtree.

An admin types a name; the people of their subtree who match come as buttons, a page at a
time; a person's card offers what this admin may do (take back a role, unlink the Telegram
account, remove from the branch's roster), each behind a confirmation naming what will
happen. Open invites into the subtree can be withdrawn the same way. Every press loads the
person, role or invite it names and checks it against the admin's subtree again (a forged or
stale button is refused and changes nothing); the change counts from the person's next update.
"""

from __future__ import annotations

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

from bot import revocation
from bot.commands import ADMINS
from bot.committee import appoint_committee, may_appoint, on_committee
from bot.context import BotContext
from bot.invites import revoke_invite
from handlers.access_texts import (
    PAGE_SIZE,
    POST_LABELS,
    AccessAppoint,
    AccessAppointPost,
    AccessConfirm,
    AccessDeletions,
    AccessInvites,
    AccessPage,
    AccessPerson,
    AccessRemove,
    AccessRevokeInvite,
    AccessRevokeRole,
    AccessUnlink,
    PersonView,
    buttons,
    card,
    confirmation,
    invite_line,
    invites_page,
    menu,
    results,
    role_label,
)
from handlers.buttons import Button
from handlers.cancel import conversation_fallbacks
from handlers.common import Page, Refused, answer, clean_text, escape
from handlers.flow import Flow, Step
from handlers.privacy_texts import DeletionCard
from storage import access_queries, invite_queries, queries
from storage.models import Account, Invite, OrgUnit, RoleAssignment

FLOW = Flow("access")
BROWSE = "browse"


def _paths(context: BotContext) -> list[str]:
    return [grant.org_path for grant in context.principal.admin_grants()]


def _outside(context: BotContext) -> Refused:
    return Refused(context._("This is outside your subtree, or already changed. Nothing was done."))


@FLOW.step(registered=True, roles=ADMINS, entry=True)
async def start_access(update: Update, context: BotContext, step: Step) -> str:
    """Explain, and wait for a name."""
    step.reply(*menu(context))
    return BROWSE


async def _results(context: BotContext, step: Step, page: int) -> None:
    query = str(step.data.get("query") or "")
    if not query:
        step.edit(*menu(context))
        return
    paths = _paths(context)
    total = await access_queries.count_people_in_scope(step.session, paths=paths, name=query)
    shown = Page.of(page, total, PAGE_SIZE)
    people = await access_queries.people_in_scope(
        step.session, paths=paths, name=query, offset=shown.offset, limit=PAGE_SIZE
    )
    step.data["page"] = shown.index
    step.edit(*results(context, query, people, shown))


@FLOW.step(registered=True, roles=ADMINS)
async def name_typed(update: Update, context: BotContext, step: Step) -> None:
    """Search the admin's subtree for people with this name."""
    text = clean_text(update.effective_message.text if update.effective_message else None)
    if text is None:
        step.reply(context._("Please type a name, at most 100 characters."))
        return
    step.data["query"] = text
    await _results(context, step, 0)


@FLOW.step(registered=True, roles=ADMINS)
async def page_pressed(update: Update, context: BotContext, step: Step) -> None:
    """Another page of the people found."""
    await _results(context, step, AccessPage.read(update).page)


async def _person(context: BotContext, step: Step, person_id: int) -> PersonView:
    """The person, if they are in the admin's subtree."""
    person = await access_queries.person_by_id(step.session, person_id)
    if person is None:
        raise _outside(context)
    scope = await revocation.person_scope(step.session, person)
    if not context.principal.oversees(scope):
        raise _outside(context)
    left = await step.session.get(OrgUnit, person.left_branch_id) if person.left_branch_id else None
    return PersonView(
        person=person,
        scope=scope,
        branch=person.branch,
        left_branch=left,
        roles=await queries.roles_of(step.session, person.id),
        linked=await access_queries.account_of_person(step.session, person.id) is not None,
    )


def _back_page(step: Step) -> int | None:
    return int(step.data.get("page", 0)) if step.data.get("query") else None


async def _show_person(
    context: BotContext, step: Step, person_id: int, done: str | None = None
) -> None:
    view = await _person(context, step, person_id)
    step.edit(*card(context, view, done=done, back_page=_back_page(step)))


@FLOW.step(registered=True, roles=ADMINS)
async def person_pressed(update: Update, context: BotContext, step: Step) -> None:
    """A person's card."""
    await _show_person(context, step, AccessPerson.read(update).person_id)


async def _assignment(context: BotContext, step: Step, assignment_id: int) -> RoleAssignment:
    """The role, if this admin may take it back (and it is not their own)."""
    assignment = await queries.role_assignment(step.session, assignment_id)
    if (
        assignment is None
        or assignment.person_id == context.principal.person_id
        or not context.principal.may_revoke(assignment.role, assignment.org_unit.path)
    ):
        raise _outside(context)
    return assignment


@FLOW.step(registered=True, roles=ADMINS)
async def revoke_role_pressed(update: Update, context: BotContext, step: Step) -> None:
    """Ask to confirm taking back a role."""
    assignment = await _assignment(context, step, AccessRevokeRole.read(update).assignment_id)
    view = await _person(context, step, assignment.person_id)
    question = context._(
        "Take back the role {role} from {name}? It ends with their next message to the bot."
    ).format(
        role=role_label(
            context, assignment.role, assignment.org_unit.display_name(context.tr.locale)
        ),
        name=escape(view.person.name),
    )
    step.edit(
        *confirmation(
            context,
            question,
            context._("Yes, take it back"),
            AccessConfirm("role", assignment.id).data,
            AccessPerson(view.person.id).data,
        )
    )


async def _manageable(context: BotContext, step: Step, person_id: int) -> PersonView:
    view = await _person(context, step, person_id)
    if not view.linked or not context.principal.may_manage(view.scope):
        raise _outside(context)
    return view


async def _removable(context: BotContext, step: Step, person_id: int) -> PersonView:
    view = await _person(context, step, person_id)
    if view.branch is None or not context.principal.may_remove_from_branch(view.scope):
        raise _outside(context)
    return view


@FLOW.step(registered=True, roles=ADMINS)
async def unlink_pressed(update: Update, context: BotContext, step: Step) -> None:
    """Ask to confirm unlinking a Telegram account."""
    view = await _manageable(context, step, AccessUnlink.read(update).person_id)
    question = context._(
        "Unlink the Telegram account of {name}? From their next message they can no longer act "
        "as {name} (a new invite links them again). Their records stay."
    ).format(name=escape(view.person.name))
    step.edit(
        *confirmation(
            context,
            question,
            context._("Yes, unlink"),
            AccessConfirm("unlink", view.person.id).data,
            AccessPerson(view.person.id).data,
        )
    )


@FLOW.step(registered=True, roles=ADMINS)
async def remove_pressed(update: Update, context: BotContext, step: Step) -> None:
    """Ask to confirm taking a person off their branch's roster."""
    view = await _removable(context, step, AccessRemove.read(update).person_id)
    assert view.branch is not None
    question = context._(
        "Remove {name} from the roster of {branch}? Their roles in the branch end with it. "
        "They stay in the branch's records and history; nothing is deleted."
    ).format(
        name=escape(view.person.name), branch=escape(view.branch.display_name(context.tr.locale))
    )
    step.edit(
        *confirmation(
            context,
            question,
            context._("Yes, remove"),
            AccessConfirm("remove", view.person.id).data,
            AccessPerson(view.person.id).data,
        )
    )


async def _appointable(context: BotContext, step: Step, person_id: int) -> PersonView:
    """The person, if this admin may appoint them to their branch's committee (on a branch of
    the admin's subtree, not on its committee yet)."""
    view = await _person(context, step, person_id)
    branch = view.branch
    if branch is None or not may_appoint(context.principal, branch):
        raise _outside(context)
    if on_committee(view.roles, branch.id):
        raise _outside(context)
    return view


@FLOW.step(registered=True, roles=ADMINS)
async def appoint_pressed(update: Update, context: BotContext, step: Step) -> None:
    """Ask the post of the member to appoint to the branch committee."""
    view = await _appointable(context, step, AccessAppoint.read(update).person_id)
    assert view.branch is not None
    question = context._("Appoint {name} to the committee of {branch}? Choose their post.").format(
        name=escape(view.person.name), branch=escape(view.branch.display_name(context.tr.locale))
    )
    rows = [
        [(context._(label), AccessAppointPost(view.person.id, post).data)]
        for post, label in POST_LABELS.items()
    ]
    rows.append([(context._("Cancel"), AccessPerson(view.person.id).data)])
    step.edit(question, buttons(rows))


@FLOW.step(registered=True, roles=ADMINS)
async def appoint_post_pressed(update: Update, context: BotContext, step: Step) -> None:
    """Appoint the member with the post chosen (checked again), and show their card."""
    button = AccessAppointPost.read(update)
    view = await _appointable(context, step, button.person_id)
    assert view.branch is not None
    actor = await step.session.get(Account, context.actor_id)
    await appoint_committee(
        step.session, person=view.person, branch=view.branch, post=button.post, actor=actor
    )
    done = context._("Appointed to the branch committee ({post}).").format(
        post=context._(POST_LABELS[button.post])
    )
    await _show_person(context, step, view.person.id, done=done)


async def _invites(context: BotContext, step: Step, page: int, done: str | None = None) -> None:
    paths, now = _paths(context), context.settings.now()
    total = await invite_queries.count_open_invites(step.session, paths=paths, now=now)
    shown = Page.of(page, total, PAGE_SIZE)
    found = await invite_queries.open_invites(
        step.session, paths=paths, now=now, offset=shown.offset, limit=PAGE_SIZE
    )
    step.edit(*invites_page(context, found, shown, done=done))


@FLOW.step(registered=True, roles=ADMINS)
async def invites_pressed(update: Update, context: BotContext, step: Step) -> None:
    """A page of the open invites into the subtree."""
    await _invites(context, step, AccessInvites.read(update).page)


async def _invite(context: BotContext, step: Step, invite_id: int) -> Invite:
    """The invite, if this admin may withdraw it and it is not withdrawn yet."""
    invite = await invite_queries.invite_by_id(step.session, invite_id)
    if (
        invite is None
        or invite.revoked_at is not None
        or not context.principal.may_revoke(invite.role, invite.org_unit.path)
    ):
        raise _outside(context)
    return invite


@FLOW.step(registered=True, roles=ADMINS)
async def revoke_invite_pressed(update: Update, context: BotContext, step: Step) -> None:
    """Ask to confirm withdrawing an invite."""
    invite = await _invite(context, step, AccessRevokeInvite.read(update).invite_id)
    question = context._("Withdraw this invite? Nobody can use it any more.\n\n{invite}").format(
        invite=invite_line(context, invite)
    )
    step.edit(
        *confirmation(
            context,
            question,
            context._("Yes, withdraw"),
            AccessConfirm("invite", invite.id).data,
            AccessInvites(0).data,
        )
    )


@FLOW.step(registered=True, roles=ADMINS)
async def confirmed(update: Update, context: BotContext, step: Step) -> None:
    """Do what was confirmed, after checking it again; show the result."""
    button = AccessConfirm.read(update)
    actor = await step.session.get(Account, context.actor_id)
    if button.action == "invite":
        invite = await _invite(context, step, button.target)
        await revoke_invite(step.session, invite=invite, actor=actor, now=context.settings.now())
        done = context._("Invite #{id} was withdrawn.").format(id=invite.id)
        await _invites(context, step, 0, done=done)
        return
    if button.action == "role":
        assignment = await _assignment(context, step, button.target)
        person_id = assignment.person_id
        label = role_label(
            context, assignment.role, assignment.org_unit.display_name(context.tr.locale)
        )
        await revocation.revoke_role(step.session, assignment=assignment, actor=actor)
        done = context._("The role {role} was taken back.").format(role=label)
    elif button.action == "unlink":
        view = await _manageable(context, step, button.target)
        person_id = view.person.id
        await revocation.unlink_account(step.session, person=view.person, actor=actor)
        done = context._("The Telegram account was unlinked.")
    else:
        view = await _removable(context, step, button.target)
        person_id = view.person.id
        await revocation.remove_from_branch(
            step.session, person=view.person, actor=actor, now=context.settings.now()
        )
        done = context._("Removed from the roster; kept in the branch's history.")
    await step.session.flush()
    await _show_person(context, step, person_id, done=done)


@FLOW.step(registered=True, roles=ADMINS)
async def deletions_pressed(update: Update, context: BotContext, step: Step) -> None:
    """The open deletion requests in the subtree (each opens its card)."""
    AccessDeletions.read(update)
    found = await access_queries.open_deletion_requests(
        step.session, paths=_paths(context), limit=20
    )
    rows = [
        [(f"#{request.id} {person.name}"[:60], DeletionCard(request.id).data)]
        for request, person in found
        if person.id != context.principal.person_id
    ]
    text = context._("<b>Deletion requests</b>") + "\n"
    text += context._("Choose one to decide it.") if rows else context._("No open requests.")
    step.edit(text, buttons(rows))


async def _reprompt(update: Update, context: BotContext) -> None:
    await answer(
        update, context, context._("Type a name to search, use the buttons, or send /cancel.")
    )


STEPS: dict[type[Button], Any] = {
    AccessPage: page_pressed,
    AccessPerson: person_pressed,
    AccessRevokeRole: revoke_role_pressed,
    AccessUnlink: unlink_pressed,
    AccessRemove: remove_pressed,
    AccessInvites: invites_pressed,
    AccessRevokeInvite: revoke_invite_pressed,
    AccessConfirm: confirmed,
    AccessDeletions: deletions_pressed,
    AccessAppoint: appoint_pressed,
    AccessAppointPost: appoint_post_pressed,
}


def build() -> ConversationHandler[BotContext]:
    """The /access conversation."""
    buttons: list[BaseHandler[Update, BotContext, Any]] = [
        CallbackQueryHandler(step, pattern=family.pattern) for family, step in STEPS.items()
    ]
    return ConversationHandler(
        entry_points=[CommandHandler("access", start_access)],
        states={
            BROWSE: [MessageHandler(filters.TEXT & ~filters.COMMAND, name_typed), *buttons],
        },
        fallbacks=conversation_fallbacks(FLOW, _reprompt, button_prefix="acs"),
        name=FLOW.name,
        persistent=True,
        allow_reentry=True,
    )
