"""What the fake server keeps: simulated users, chats, messages, files, callback queries."""

from __future__ import annotations

import dataclasses
import struct

from bot.fake_telegram.api import JSON

# A photo whose header we cannot read still needs a size; Telegram's own thumbnails are 320 wide.
UNKNOWN_PHOTO_SIDE = 320
STICKER_SIDE = 512
# A 1x1 lossless WebP, so a downloaded sticker is a real image.
STICKER_BYTES = (
    b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00"
    b"/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
)
# Chat kinds other than a private chat, and how Telegram names them in its 403 answers.
GROUP_KINDS = {"group": "group", "supergroup": "supergroup", "channel": "channel"}


@dataclasses.dataclass
class SimulatedUser:
    """A person talking to the bot in a private chat."""

    user_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    blocked: bool = False
    deactivated: bool = False

    def to_api(self) -> JSON:
        """Return the Bot API User object."""
        data: JSON = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat_api(self) -> JSON:
        """Return the Bot API Chat object of the private chat with this user."""
        data: JSON = {"id": self.user_id, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        data["type"] = "private"
        return data

    def to_json(self) -> JSON:
        """Return the user as the control API shows it."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class StoredFile:
    """A file known to the fake server, with its bytes."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    emoji: str | None = None

    def info(self) -> JSON:
        """Return the file's metadata (not its bytes)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "width": self.width,
            "height": self.height,
        }

    def photo_size(self) -> JSON:
        """Return the Bot API PhotoSize object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "width": self.width or UNKNOWN_PHOTO_SIDE,
            "height": self.height or UNKNOWN_PHOTO_SIDE,
        }

    def document(self) -> JSON:
        """Return the Bot API Document object."""
        data: JSON = {}
        if self.file_name:
            data["file_name"] = self.file_name
        if self.mime_type:
            data["mime_type"] = self.mime_type
        data.update(
            file_id=self.file_id, file_unique_id=self.file_unique_id, file_size=len(self.data)
        )
        return data

    def sticker(self) -> JSON:
        """Return the Bot API Sticker object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "type": "regular",
            "width": STICKER_SIDE,
            "height": STICKER_SIDE,
            "is_animated": False,
            "is_video": False,
            "emoji": self.emoji,
            "file_size": len(self.data),
        }


@dataclasses.dataclass
class StoredMessage:
    """A message in a chat, sent by the bot or by the user, with its edit history."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    text: str | None = None
    source_text: str | None = None
    parse_mode: str | None = None
    entities: list[JSON] = dataclasses.field(default_factory=list)
    caption: str | None = None
    caption_entities: list[JSON] = dataclasses.field(default_factory=list)
    reply_markup: JSON | None = None
    photo: StoredFile | None = None
    document: StoredFile | None = None
    sticker: StoredFile | None = None
    reply_to: int | None = None
    edits: list[JSON] = dataclasses.field(default_factory=list)
    edit_date: int | None = None
    deleted: bool = False
    seq: int = 0  # the event that created it, so readers can tell what they have seen
    sender_id: int | None = None  # who sent a user's message in a group (None: the chat's user)

    def inline_markup(self) -> JSON | None:
        """The inline keyboard, the only markup that is part of a message (and of its edits)."""
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            return self.reply_markup
        return None

    def content_api(self) -> JSON:
        """The message's content as the Bot API shows it (text or media, caption, keyboard)."""
        data: JSON = {}
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        if self.photo is not None:
            data["photo"] = [self.photo.photo_size()]
        if self.document is not None:
            data["document"] = self.document.document()
        if self.sticker is not None:
            data["sticker"] = self.sticker.sticker()
        if self.caption is not None:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        # Reply keyboards belong to the chat, so Telegram never echoes them in a message.
        if self.inline_markup():
            data["reply_markup"] = self.inline_markup()
        return data

    def version(self) -> JSON:
        """Return the editable content as it is now."""
        return {
            "text": self.text,
            "source_text": self.source_text,
            "caption": self.caption,
            "reply_markup": self.reply_markup,
        }

    def record(self) -> JSON:
        """Return the message as the control API reports it (JSON-able; files by metadata)."""
        return {
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "seq": self.seq,
            "date": self.date,
            "from_bot": self.from_bot,
            "text": self.text,
            "source_text": self.source_text,
            "parse_mode": self.parse_mode,
            "entities": self.entities,
            "caption": self.caption,
            "reply_markup": self.reply_markup,
            "photo": self.photo.info() if self.photo else None,
            "document": self.document.info() if self.document else None,
            "sticker": self.sticker.info() if self.sticker else None,
            "reply_to_message_id": self.reply_to,
            "edits": list(self.edits),
            "edit_date": self.edit_date,
            "deleted": self.deleted,
        }


@dataclasses.dataclass
class Chat:
    """A chat with the bot: a user's private chat, or a group, supergroup or channel."""

    chat_id: int
    user: SimulatedUser | None = None  # the other party of a private chat
    kind: str = "private"
    title: str | None = None
    bot_status: str = "member"  # the bot's membership of a group: member, administrator, left
    messages: dict[int, StoredMessage] = dataclasses.field(default_factory=dict)
    last_message_id: int = 0

    def next_message_id(self) -> int:
        """The id of the chat's next message (ids are per chat, as in Telegram)."""
        self.last_message_id += 1
        return self.last_message_id

    def api(self) -> JSON:
        """Return the Bot API Chat object."""
        if self.user is not None:
            return self.user.chat_api()
        return {"id": self.chat_id, "title": self.title or "", "type": self.kind}


@dataclasses.dataclass
class CallbackQueryRecord:
    """A button press the bot may answer once."""

    query_id: str
    update_id: int
    user_id: int
    message_id: int
    data: str
    answer: JSON | None = None


@dataclasses.dataclass
class Webhook:
    """The webhook the bot set, with the last delivery error Telegram would report."""

    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


def image_size(data: bytes) -> tuple[int, int] | None:
    """Read width and height from a PNG, GIF or JPEG header."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 <= len(data) and data[i] == 0xFF:
            marker = data[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
    return None
