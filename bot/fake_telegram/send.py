"""The Bot API methods that send, edit and delete messages, checked as Telegram checks them."""

from __future__ import annotations

import mimetypes
from typing import Any

from telegram.constants import MessageLimit

from bot.fake_telegram.api import JSON, NOT_MODIFIED, ApiError, bad_request, bot_method
from bot.fake_telegram.formatting import (
    PARSE_MODES,
    HtmlParseError,
    parse_html,
    strip_text,
    validate_inline_keyboard,
)
from bot.fake_telegram.models import GROUP_KINDS, Chat, StoredFile, StoredMessage
from bot.fake_telegram.params import Params, UploadedFile
from bot.fake_telegram.state import ServerState


class MessageMethods(ServerState):
    """sendMessage, sendPhoto, sendDocument, sendChatAction, editMessage*, deleteMessage."""

    def _input_file(self, params: Params, name: str, kind: str) -> StoredFile:
        """Resolve a bot's file parameter: an upload becomes a new file, a file_id is reused."""
        value = params.file(name)
        if value is None:
            raise bad_request(f"there is no {name} in the request")
        if isinstance(value, UploadedFile):
            if not value.data:
                raise bad_request("file must be non-empty")
            mime_type = value.content_type
            if not mime_type or mime_type == "application/octet-stream":
                mime_type = mimetypes.guess_type(value.filename)[0] or mime_type
            return self._store_file(
                value.data, kind=kind, file_name=value.filename, mime_type=mime_type
            )
        stored = self._files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored

    def _target_chat(self, params: Params, *, sending: bool = False) -> Chat:
        raw = params.text("chat_id")
        if not raw:
            raise bad_request("chat_id is empty")
        try:
            chat = self._chats.get(int(raw))
        except ValueError:
            chat = None  # @usernames address channels, never private chats
        if chat is None:
            raise bad_request("chat not found")
        if sending:
            _check_may_send(chat)
        return chat

    def _formatted(
        self, params: Params, field: str, *, caption: bool
    ) -> tuple[str | None, str | None, list[JSON], str | None]:
        """Parse text or caption with its parse_mode: (plain, source, entities, parse_mode)."""
        source = params.text(field)
        raw_mode = params.text("parse_mode")
        parse_mode = None
        if raw_mode:
            parse_mode = PARSE_MODES.get(raw_mode.lower())
            if parse_mode is None:
                raise bad_request(f"unsupported parse_mode {raw_mode}")
        if source is None or (caption and source == ""):
            if caption:
                return None, None, [], parse_mode
            raise bad_request("message text is empty")
        entities: list[JSON] = []
        plain = source
        if parse_mode == "HTML":
            try:
                plain, entities = parse_html(source)
            except HtmlParseError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        else:
            given = params.obj("caption_entities" if caption else "entities", "message entities")
            if isinstance(given, list):
                entities = given
        plain, entities = strip_text(plain, entities)
        limit = MessageLimit.CAPTION_LENGTH if caption else MessageLimit.MAX_TEXT_LENGTH
        if not plain and not caption:
            raise bad_request("message text is empty")
        if len(plain) > limit:
            raise bad_request("message caption is too long" if caption else "message is too long")
        return plain, source, entities, parse_mode

    def _reply_markup(self, params: Params, *, inline_only: bool = False) -> JSON | None:
        markup = params.obj("reply_markup", "reply keyboard markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            validate_inline_keyboard(markup["inline_keyboard"])
        elif inline_only:
            raise bad_request("inline keyboard expected")
        elif "keyboard" in markup:
            if not isinstance(markup["keyboard"], list):
                raise bad_request("can't parse reply keyboard markup JSON object")
        elif not ("remove_keyboard" in markup or "force_reply" in markup):
            raise bad_request("can't parse reply keyboard markup JSON object")
        return markup

    def _reply_to(self, params: Params, chat: Chat) -> int | None:
        reply_parameters = params.obj("reply_parameters", "reply parameters")
        message_id: int | None
        allow_missing = params.flag("allow_sending_without_reply")
        if isinstance(reply_parameters, dict):
            message_id = reply_parameters.get("message_id")
            allow_missing = allow_missing or bool(
                reply_parameters.get("allow_sending_without_reply")
            )
        else:
            message_id = params.integer("reply_to_message_id")
        if message_id is None:
            return None
        replied = chat.messages.get(int(message_id))
        if replied is None or replied.deleted:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        return int(message_id)

    def _editable_message(self, params: Params) -> StoredMessage:
        if params.text("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._target_chat(params)
        message_id = params.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message

    def _apply_edit(self, message: StoredMessage, **changes: Any) -> JSON:
        for field, value in changes.items():
            setattr(message, field, value)
        message.edit_date = self._now()
        message.edits.append({**message.version(), "edit_date": message.edit_date})
        self._record_event("edit", message)
        return self._message_api(message)

    # -- bot API methods ---------------------------------------------------------------------

    @bot_method("sendMessage")
    async def _send_message(self, params: Params) -> JSON:
        chat = self._target_chat(params, sending=True)
        text, source, entities, parse_mode = self._formatted(params, "text", caption=False)
        markup = self._reply_markup(params)
        reply_to = self._reply_to(params, chat)
        self._flood.admit(chat.chat_id, paid=params.flag("allow_paid_broadcast"))
        message = self._add_message(
            chat,
            from_bot=True,
            text=text,
            source_text=source,
            parse_mode=parse_mode,
            entities=entities,
            reply_markup=markup,
            reply_to=reply_to,
        )
        return self._message_api(message)

    async def _send_media(self, params: Params, field: str) -> JSON:
        chat = self._target_chat(params, sending=True)
        caption, source, entities, parse_mode = self._formatted(params, "caption", caption=True)
        markup = self._reply_markup(params)
        reply_to = self._reply_to(params, chat)
        stored = self._input_file(params, field, kind=field)
        self._flood.admit(chat.chat_id, paid=params.flag("allow_paid_broadcast"))
        message = self._add_message(
            chat,
            from_bot=True,
            caption=caption,
            source_text=source,
            parse_mode=parse_mode,
            caption_entities=entities,
            reply_markup=markup,
            reply_to=reply_to,
            **{field: stored},
        )
        return self._message_api(message)

    @bot_method("sendPhoto")
    async def _send_photo(self, params: Params) -> JSON:
        return await self._send_media(params, "photo")

    @bot_method("sendDocument")
    async def _send_document(self, params: Params) -> JSON:
        return await self._send_media(params, "document")

    @bot_method("sendChatAction")
    async def _send_chat_action(self, params: Params) -> bool:
        chat = self._target_chat(params, sending=True)
        action = params.text("action")
        if not action:
            raise bad_request("wrong parameter action in request")
        self._publish({"kind": "action", "chat_id": chat.chat_id, "action": action})
        return True

    @bot_method("editMessageText")
    async def _edit_message_text(self, params: Params) -> JSON:
        message = self._editable_message(params)
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        text, source, entities, parse_mode = self._formatted(params, "text", caption=False)
        markup = self._reply_markup(params, inline_only=True)
        if (text, entities, markup) == (message.text, message.entities, message.inline_markup()):
            raise bad_request(NOT_MODIFIED)
        self._flood.admit(message.chat_id, paid=False)
        return self._apply_edit(
            message,
            text=text,
            source_text=source,
            entities=entities,
            parse_mode=parse_mode,
            reply_markup=markup,
        )

    @bot_method("editMessageCaption")
    async def _edit_message_caption(self, params: Params) -> JSON:
        message = self._editable_message(params)
        if message.text is not None:
            raise bad_request("there is no caption in the message to edit")
        caption, source, entities, parse_mode = self._formatted(params, "caption", caption=True)
        markup = self._reply_markup(params, inline_only=True)
        current = (message.caption, message.caption_entities, message.inline_markup())
        if (caption, entities, markup) == current:
            raise bad_request(NOT_MODIFIED)
        self._flood.admit(message.chat_id, paid=False)
        return self._apply_edit(
            message,
            caption=caption,
            source_text=source,
            caption_entities=entities,
            parse_mode=parse_mode,
            reply_markup=markup,
        )

    @bot_method("editMessageReplyMarkup")
    async def _edit_message_reply_markup(self, params: Params) -> JSON:
        message = self._editable_message(params)
        markup = self._reply_markup(params, inline_only=True)
        if markup == message.inline_markup():
            raise bad_request(NOT_MODIFIED)
        self._flood.admit(message.chat_id, paid=False)
        return self._apply_edit(message, reply_markup=markup)

    @bot_method("deleteMessage")
    async def _delete_message(self, params: Params) -> bool:
        chat = self._target_chat(params)
        message = chat.messages.get(params.integer("message_id") or 0)
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        self._record_event("delete", message)
        return True


def _check_may_send(chat: Chat) -> None:
    """Telegram's 403 for a chat the bot may not write to."""
    if chat.user is None:
        if chat.bot_status not in ("member", "administrator"):
            raise ApiError(
                403, f"Forbidden: bot is not a member of the {GROUP_KINDS[chat.kind]} chat"
            )
        return
    if chat.user.deactivated:
        raise ApiError(403, "Forbidden: user is deactivated")
    if chat.user.blocked:
        raise ApiError(403, "Forbidden: bot was blocked by the user")
