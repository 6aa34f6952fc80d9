"""The buttons of trainings (`trn:`), one family per verb, and the answer buttons under an
invitation (the reminder engine sends those; bot.app hands it `invitation_keyboard`).

Whatever parses is only well formed: the handlers load the training or person a button names
and check it against the presser on every press.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot.enums import TrainingAudience, TrainingKind
from bot.i18n import Translator
from handlers.buttons import Button
from handlers.common import keyboard

# ---- invitees ----------------------------------------------------------------------------------


class WillAttend(Button, prefix="trn:y"):
    """An invitee will attend."""

    training_id: int


class WontAttend(Button, prefix="trn:n"):
    """An invitee will not attend."""

    training_id: int


def invitation_keyboard(tr: Translator, training_id: int) -> InlineKeyboardMarkup:
    """Attend / decline buttons under an invitation."""
    return keyboard(
        [
            [
                (tr._("I will attend"), WillAttend(training_id).data),
                (tr._("I can't attend"), WontAttend(training_id).data),
            ]
        ]
    )


# ---- the admin's menu, a training's view, attendance --------------------------------------------


class TrainingsPage(Button, prefix="trn:m"):
    """Another page of the admin's trainings."""

    page: int


class OpenTraining(Button, prefix="trn:v"):
    """A training's answers (and its attendance or cancel button)."""

    training_id: int


class CancelTraining(Button, prefix="trn:c"):
    """Ask before calling a training off."""

    training_id: int


class CancelTrainingConfirmed(Button, prefix="trn:cy"):
    """Call the training off."""

    training_id: int


class AttendancePage(Button, prefix="trn:att"):
    """A page of a training's attendance list."""

    training_id: int
    page: int


class MarkAttended(Button, prefix="trn:a"):
    """Mark or unmark one invitee as present (and stay on the list's page)."""

    training_id: int
    person_id: int
    page: int


# ---- scheduling (a conversation) -----------------------------------------------------------------


class NewTraining(Button, prefix="trn:new"):
    """Start scheduling a training."""


class TrainingFor(Button, prefix="trn:org"):
    """The node (one of the admin's) the training is for."""

    org_id: int


class TrainingPart(Button, prefix="trn:sub"):
    """Invite only the people of this node's subtree."""

    org_id: int


class TrainingAudienceChoice(Button, prefix="trn:aud"):
    """Who in the node is invited."""

    audience: TrainingAudience


class TrainingKindChoice(Button, prefix="trn:kind"):
    """Rotation or induction training."""

    kind: TrainingKind


class ScheduleTraining(Button, prefix="trn:ok"):
    """Schedule the summarised training and send the invitations."""


class DropTraining(Button, prefix="trn:no"):
    """Drop the summarised training."""
