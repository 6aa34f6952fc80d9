"""The sandbox page's own words (its chrome, not the bot's messages), in the catalogs."""

from __future__ import annotations

from bot.i18n import N_, Translator

PAGE_TEXTS: dict[str, str] = {
    "title": N_("Zhibu sandbox"),
    "offline": N_(
        "Offline: the bot talks to a fake Telegram on this computer, with a demo organisation "
        "and a year of its history. Nothing leaves this machine."
    ),
    "clock": N_("Sandbox time"),
    "hour": N_("+1 hour"),
    "day": N_("+1 day"),
    "next": N_("To the next reminder"),
    "reset": N_("Start over"),
    "reset_confirm": N_("Start the demo over? Every chat and every change is lost."),
    "stranger": N_("New stranger with an invite"),
    "phones": N_("Phones"),
    "placeholder": N_("Message"),
    "send": N_("Send"),
    "attach_photo": N_("Attach a photo"),
    "attach_file": N_("Attach a file"),
    "edited": N_("edited"),
    "deleted": N_("deleted"),
    "ok": N_("OK"),
    "close": N_("Hide this phone"),
    "download": N_("Download"),
    "invite": N_("Invite code {code}"),
    "open_invite": N_("Open the invite"),
    "privacy": N_("Nothing is stored about this person until they agree to the privacy notice."),
    "kind_admin": N_("admin"),
    "kind_secretary": N_("secretary"),
    "kind_member": N_("member"),
    "kind_mobile": N_("mobile member"),
    "kind_newcomer": N_("newcomer"),
    "action_typing": N_("typing…"),
    "action_upload_photo": N_("sending a photo…"),
    "action_upload_document": N_("sending a file…"),
    "action_other": N_("busy…"),
    "reconnecting": N_("Connection lost; reconnecting…"),
    "empty": N_("No messages yet."),
    "language": N_("Phone language"),
}


def page_texts(locale: str, time_zone: str) -> dict[str, str]:
    """The page's words in one language."""
    tr = Translator(locale, time_zone)
    return {key: tr._(text) for key, text in PAGE_TEXTS.items()}


def clock_moved(tr: Translator, messages: int) -> str:
    """What moving the clock set off, for the page's notice."""
    if not messages:
        return tr._("The clock moved; nothing fell due.")
    return tr.ngettext(
        "The clock moved: {count} message with reminders was sent.",
        "The clock moved: {count} messages with reminders were sent.",
        messages,
    ).format(count=messages)


def nothing_planned(tr: Translator) -> str:
    """No reminder to move the clock to."""
    return tr._("No reminder is planned after now.")
