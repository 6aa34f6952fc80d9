"""Forged reminder-settings buttons: they name no object (each changes the presser's own
settings), so what is forged is a choice the presser is not offered."""

from __future__ import annotations

from bot.enums import ReminderKind
from handlers.reminder_settings import DigestDay, DigestHour, ToggleKind
from tests.support.forged import Area, World, no_object

OWN = "the presser's own reminder settings"


async def setup(world: World) -> None:
    """Nothing: the settings are the presser's own."""


def markers(t: None) -> list[str]:
    return []


AREA = Area(
    "reminders",
    setup,
    markers,
    cases=[
        no_object(
            "rem:t",
            OWN + "; forged: a kind nobody may mute (training invitations)",
            presses=lambda t: [ToggleKind(ReminderKind.TRAINING_INVITE)],
        ),
        no_object(
            "rem:d",
            OWN + "; forged: a weekday that is none (and the digest of a non-secretary)",
            presses=lambda t: [DigestDay(8), DigestDay(0)],
        ),
        no_object(
            "rem:h",
            OWN + "; forged: an hour that is not offered (and the digest of a non-secretary)",
            presses=lambda t: [DigestHour(3), DigestHour(99)],
        ),
        no_object("rem:q", OWN, harmless=OWN, own_changes=OWN),
        no_object(
            "rem:z",
            OWN + " (the presser's own time zone, one of the offered ones)",
            harmless=OWN,
            own_changes=OWN,
        ),
    ],
)
