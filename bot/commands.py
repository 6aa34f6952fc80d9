"""The command list: what /help shows each role and what Telegram's menu offers."""

from __future__ import annotations

from dataclasses import dataclass

from bot.access import Principal
from bot.enums import Role
from bot.i18n import N_

EVERYONE: frozenset[Role] = frozenset()
LEADERS = frozenset({Role.SECRETARY, Role.DEPUTY, Role.ADMIN})
BRANCH_LEADERS = frozenset({Role.SECRETARY, Role.DEPUTY})
MEETING_CALLERS = frozenset({Role.SECRETARY, Role.DEPUTY, Role.GROUP_LEADER})
NOTICE_SENDERS = frozenset({Role.ADMIN, Role.SECRETARY, Role.DEPUTY})
ADMINS = frozenset({Role.ADMIN})
REGISTERED_ROLES = frozenset({Role.MEMBER, Role.SECRETARY, Role.DEPUTY, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Command:
    """A command, its description (a msgid) and who may use it (empty = everyone)."""

    name: str
    description: str
    roles: frozenset[Role] = EVERYONE
    registered: bool = True

    def allowed(self, principal: Principal) -> bool:
        """True when the principal may use the command."""
        if self.registered and not principal.registered:
            return False
        return not self.roles or bool(principal.roles() & self.roles)


COMMANDS: tuple[Command, ...] = (
    Command("start", N_("start, or register with an invite code"), registered=False),
    Command("help", N_("what you can do here"), registered=False),
    Command("me", N_("who the bot thinks you are"), registered=False),
    Command("lang", N_("change the language"), registered=False),
    Command("invite", N_("create an invite for your branch or organisation"), LEADERS),
    Command("access", N_("take back roles, unlink accounts, withdraw invites"), ADMINS),
    Command("notify", N_("send a notice to your organisation or branch"), NOTICE_SENDERS),
    Command("notices", N_("scheduled notices and notices going out"), frozenset({Role.ADMIN})),
    Command("log", N_("log a branch activity"), BRANCH_LEADERS),
    Command("activities", N_("the branch's recent activities"), REGISTERED_ROLES),
    Command("due", N_("what the branch still has to do this period"), BRANCH_LEADERS),
    Command("meet", N_("call a meeting: invitations, answers, sign-in"), MEETING_CALLERS),
    Command("meetings", N_("your upcoming meetings"), REGISTERED_ROLES),
    Command(
        "report",
        N_("reports on your subtree: compliance, grading, relink, notices, dues, training"),
        ADMINS,
    ),
    Command("book", N_("the branch's record book for a year, as a Word document"), LEADERS),
    Command(
        "relink",
        N_("away from your branch or lost contact: report, transfer, reconnect"),
        registered=False,
    ),
    Command("grade", N_("classification and grading of your branch"), LEADERS),
    Command("survey", N_("answer a satisfaction survey about your branch")),
    Command("dues", N_("Party dues: your months, or your branch's collection"), REGISTERED_ROLES),
    Command("training", N_("trainings: schedule, answer, your record"), REGISTERED_ROLES),
    Command("reminders", N_("which reminders you get, and when"), REGISTERED_ROLES),
    Command("mydata", N_("everything Zhibu stores about you, as a file"), registered=False),
    Command("forgetme", N_("ask for your personal data to be deleted")),
    Command("cancel", N_("stop what you are doing"), registered=False),
)


def commands_for(principal: Principal) -> list[Command]:
    """The commands this principal may use, in menu order."""
    return [c for c in COMMANDS if c.allowed(principal)]
