"""Texts and keyboards of /access: result lists, a person's card, invites, confirmations."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from telegram import InlineKeyboardMarkup

from bot.access import PersonScope, Principal
from bot.committee import may_appoint, on_committee
from bot.context import BotContext
from bot.enums import CommitteePost, Role
from bot.i18n import N_
from handlers.buttons import Button
from handlers.common import ROLE_LABELS, Page, escape, keyboard
from storage.models import Invite, OrgUnit, Person, RoleAssignment

PAGE_SIZE = 8


class AccessPage(Button, prefix="acs:pg"):
    """A page of the people found."""

    page: int


class AccessPerson(Button, prefix="acs:p"):
    """A person's card."""

    person_id: int


class AccessRevokeRole(Button, prefix="acs:r"):
    """Ask to take back one role."""

    assignment_id: int


class AccessUnlink(Button, prefix="acs:u"):
    """Ask to unlink a person's Telegram account."""

    person_id: int


class AccessRemove(Button, prefix="acs:x"):
    """Ask to take a person off their branch's roster."""

    person_id: int


class AccessInvites(Button, prefix="acs:inv"):
    """A page of the open invites."""

    page: int


class AccessRevokeInvite(Button, prefix="acs:ri"):
    """Ask to withdraw an invite."""

    invite_id: int


class AccessDeletions(Button, prefix="acs:dr"):
    """The open deletion requests."""


class AccessAppoint(Button, prefix="acs:cm"):
    """Ask which post a member appointed to the branch committee holds."""

    person_id: int


class AccessAppointPost(Button, prefix="acs:cmp"):
    """Appoint the member to the branch committee with this post."""

    person_id: int
    post: CommitteePost


POST_LABELS: dict[CommitteePost, str] = {
    CommitteePost.ORGANISATION: N_("organisation member"),
    CommitteePost.PROPAGANDA: N_("propaganda member"),
    CommitteePost.DISCIPLINE: N_("discipline member"),
    CommitteePost.YOUTH: N_("youth member"),
    CommitteePost.WOMEN: N_("women's member"),
    CommitteePost.OTHER: N_("committee member"),
}

Action = Literal["role", "unlink", "remove", "invite"]


class AccessConfirm(Button, prefix="acs:ok"):
    """Yes: do what the confirmation named (loaded and checked again)."""

    action: Action
    target: int


def buttons(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup | None:
    """The keyboard, or none at all when there is no button (Telegram refuses an empty one)."""
    return keyboard(rows) if rows else None


def role_label(
    context: BotContext, role: Role, org_code: str, post: CommitteePost | None = None
) -> str:
    """ "branch secretary of DEMO-B1" (a committee member's post in brackets)."""
    label = context._(ROLE_LABELS[role])
    if post is not None:
        label += context._(" ({post})").format(post=context._(POST_LABELS[post]))
    return context._("{role} of {org}").format(role=label, org=escape(org_code))


def menu(context: BotContext) -> tuple[str, InlineKeyboardMarkup | None]:
    """What /access says first."""
    text = context._(
        "<b>Access in your subtree</b>\n\nType a name, or part of one, to find a person: you "
        "can then take back a role, unlink their Telegram account or remove them from their "
        "branch's roster. Send /cancel when you are done."
    )
    rows = [
        [(context._("Open invites"), AccessInvites(0).data)],
        [(context._("Deletion requests"), AccessDeletions().data)],
    ]
    return text, keyboard(rows)


def results(
    context: BotContext, query: str, people: list[Person], page: Page
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The people found, one button each, with the neighbouring pages."""
    if not people:
        text = context._("Nobody in your subtree is called “{query}”. Type another name.").format(
            query=escape(query)
        )
        return text, keyboard([[(context._("Open invites"), AccessInvites(0).data)]])
    title = context._("People matching “{query}”:").format(query=escape(query))
    text = f"{title} {page.caption(context)}".rstrip()
    rows = []
    for person in people:
        where = person.branch.display_name(context.tr.locale) if person.branch is not None else "—"
        rows.append([(f"{person.name} · {where}"[:60], AccessPerson(person.id).data)])
    nav = page.buttons(AccessPage.prefix + ":{}")
    if nav:
        rows.append(nav)
    return text + "\n" + context._("Type another name to search again."), keyboard(rows)


@dataclass(frozen=True, slots=True)
class PersonView:
    """A person as an admin's card shows them."""

    person: Person
    scope: PersonScope
    branch: OrgUnit | None
    left_branch: OrgUnit | None
    roles: list[RoleAssignment]
    linked: bool


def card(
    context: BotContext, view: PersonView, *, done: str | None = None, back_page: int | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A person's branch, account and roles, with what this admin may take away."""
    _ = context._
    principal: Principal = context.principal
    person, locale = view.person, context.tr.locale
    lines = [f"✅ {done}", ""] if done else []
    lines.append(f"<b>{escape(person.name)}</b>")
    if view.branch is not None:
        lines.append(_("Branch: {branch}").format(branch=escape(view.branch.display_name(locale))))
    elif view.left_branch is not None and person.left_at is not None:
        lines.append(
            _("Removed from {branch} on {day}").format(
                branch=escape(view.left_branch.display_name(locale)),
                day=context.tr.date(person.left_at.astimezone(context.tr.tz).date()),
            )
        )
    else:
        lines.append(_("On no branch roster"))
    lines.append(_("Telegram account linked") if view.linked else _("No Telegram account linked"))
    held = [
        role_label(context, a.role, a.org_unit.display_name(context.tr.locale), a.post)
        for a in view.roles
    ]
    if view.branch is not None:
        held.append(_(ROLE_LABELS[Role.MEMBER]))
    lines.append(_("Roles: {roles}").format(roles=_(", ").join(held) or "—"))
    rows = [
        [
            (
                _("Take back: {role}").format(
                    role=role_label(context, a.role, a.org_unit.display_name(context.tr.locale))
                ),
                AccessRevokeRole(a.id).data,
            )
        ]
        for a in view.roles
        if principal.may_revoke(a.role, a.org_unit.path) and person.id != principal.person_id
    ]
    if view.linked and principal.may_manage(view.scope):
        rows.append([(_("Unlink Telegram account"), AccessUnlink(person.id).data)])
    if may_appoint(principal, view.branch) and not on_committee(view.roles, person.branch_id or 0):
        rows.append([(_("Appoint to the branch committee"), AccessAppoint(person.id).data)])
    if view.branch is not None and principal.may_remove_from_branch(view.scope):
        rows.append(
            [
                (
                    _("Remove from the roster of {branch}").format(
                        branch=view.branch.display_name(context.tr.locale)
                    ),
                    AccessRemove(person.id).data,
                )
            ]
        )
    if back_page is not None:
        rows.append([(_("‹ Back to the list"), AccessPage(back_page).data)])
    return "\n".join(lines), buttons(rows)


def confirmation(
    context: BotContext, question: str, yes: str, data: str, back: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A question naming what will happen, with Yes and Cancel."""
    rows = [[(yes, data)], [(context._("Cancel"), back)]]
    return question, keyboard(rows)


def invites_page(
    context: BotContext, invites: list[Invite], page: Page, *, done: str | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Open invites into the subtree, newest first; the ones this admin may withdraw have a
    button."""
    _ = context._
    lines = [f"✅ {done}", ""] if done else []
    lines.append(f"{_('<b>Open invites</b>')} {page.caption(context)}".rstrip())
    if not invites:
        lines.append(_("No open invites."))
    rows = []
    for invite in invites:
        lines.append(invite_line(context, invite))
        if context.principal.may_revoke(invite.role, invite.org_unit.path):
            rows.append(
                [(_("Withdraw #{id}").format(id=invite.id), AccessRevokeInvite(invite.id).data)]
            )
    nav = page.buttons(AccessInvites.prefix + ":{}")
    if nav:
        rows.append(nav)
    return "\n".join(lines), buttons(rows)


def invite_line(context: BotContext, invite: Invite) -> str:
    """ "#12 member of DEMO-B1, used 1 of 5, valid until …"."""
    expires: dt.datetime = invite.expires_at
    line = context._("#{id} {role}, used {uses} of {max_uses}, valid until {until}").format(
        id=invite.id,
        role=role_label(context, invite.role, invite.org_unit.display_name(context.tr.locale)),
        uses=invite.uses,
        max_uses=invite.max_uses,
        until=context.tr.datetime(expires),
    )
    if invite.person is not None:
        line += " " + context._("(for {name})").format(name=escape(invite.person.name))
    return line
