"""What a simulated person sees of the bot's messages: text, buttons, files, edits."""

from __future__ import annotations

import dataclasses
from typing import Any

JSON = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class FakeFile:
    """A photo or document the bot sent, with its bytes."""

    file_id: str
    data: bytes
    filename: str | None
    mime_type: str | None


@dataclasses.dataclass(frozen=True)
class FakeMessage:
    """A bot message as the user saw it at one moment (when sent, edited or deleted)."""

    chat_id: int
    message_id: int
    text: str
    """Text of a text message, caption of a media message ("" if none)."""
    source_text: str | None
    reply_markup: JSON | None
    photo: FakeFile | None
    document: FakeFile | None
    edits: list[JSON]
    deleted: bool
    event: str
    """Why this snapshot was taken: "message", "edit", "delete", or "read" for a plain read."""
    raw: JSON

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Keyboard rows of (text, callback_data or url); reply-keyboard buttons have None."""
        markup = self.reply_markup or {}
        if "inline_keyboard" in markup:
            return [
                [
                    (button["text"], button.get("callback_data") or button.get("url"))
                    for button in row
                ]
                for row in markup["inline_keyboard"]
            ]
        return [
            [(button if isinstance(button, str) else button["text"], None) for button in row]
            for row in markup.get("keyboard", [])
        ]

    @property
    def button_texts(self) -> list[str]:
        """Every button label, row by row."""
        return [text for row in self.buttons for text, _ in row]

    def button_data(self, text: str) -> str | None:
        """The callback_data (or url) of the button labelled text."""
        for row in self.buttons:
            for label, value in row:
                if label == text:
                    return value
        raise AssertionError(f"no button {text!r} in {self.button_texts}")

    @property
    def edited(self) -> bool:
        """Whether the message had been edited at the time of this snapshot."""
        return bool(self.edits)

    def __str__(self) -> str:
        buttons = f" buttons={self.button_texts}" if self.buttons else ""
        media = ""
        if self.photo:
            media = " [photo]"
        if self.document:
            media = f" [document {self.document.filename}]"
        return f"#{self.message_id}{media} {self.text!r}{buttons}"
