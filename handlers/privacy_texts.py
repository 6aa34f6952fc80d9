"""The privacy notice, shown before anything about a person is stored (registration, relink),
and the buttons of deletion requests (shown by /forgetme's notices and by /access)."""

from __future__ import annotations

from typing import Literal

from bot.context import BotContext
from handlers.buttons import Button

Purpose = Literal["register", "relink"]


class DeletionCard(Button, prefix="pv:card"):
    """An admin opens a deletion request."""

    request_id: int


class DeletionAsk(Button, prefix="pv:del"):
    """An admin chose to delete: confirm first."""

    request_id: int


class DeletionConfirm(Button, prefix="pv:yes"):
    """An admin confirmed the deletion."""

    request_id: int


class DeletionDecline(Button, prefix="pv:dec"):
    """An admin declined the request."""

    request_id: int


def privacy_notice(context: BotContext, purpose: Purpose) -> str:
    """What is stored, why, who sees it, and the person's rights; ends with the question."""
    _ = context._
    if purpose == "register":
        stored = _(
            "<b>What Zhibu stores:</b> your Telegram account (id, username, language), your "
            "name as on the branch roster and, if you give it, your phone number; then, as "
            "you use it, the branch activities you attend or miss, the notices and reminders "
            "sent to you, and your requests."
        )
        why = _(
            "<b>Why:</b> for your branch's work — the activity record, notices, reminders, "
            "trainings and grading."
        )
        who = _(
            "<b>Who sees it:</b> your branch's secretary and deputy secretary, and the "
            "organisation department admins responsible for your branch. Nobody else."
        )
    else:
        stored = _(
            "<b>What Zhibu stores:</b> your Telegram account (id, username, language) and "
            "what you tell it in your request: name, branch, year of joining, city, employer "
            "and phone."
        )
        why = _("<b>Why:</b> to handle your request about your organisational ties.")
        who = _(
            "<b>Who sees it:</b> the secretaries of the branches your request concerns and the "
            "organisation department admins who decide it. Nobody else."
        )
    rights = _(
        "Send /mydata at any time to get everything stored about you, and /forgetme to ask for "
        "it to be deleted (records Party rules require are kept, without your name)."
    )
    question = _("Do you agree? Nothing is stored until you do.")
    title = _("<b>Privacy notice</b>")
    return "\n\n".join((title, stored, why, who, rights, question))


def declined_text(context: BotContext) -> str:
    """The answer to someone who does not agree."""
    return context._(
        "Understood. Nothing about you was stored. Send the invite link or /relink again "
        "whenever you change your mind."
    )
