"""The Bot API methods other than sending: identity, updates, callback answers, files,
commands, webhooks, leaving a chat."""

from __future__ import annotations

import itertools
import re

from telegram.constants import BotCommandLimit, CallbackQueryLimit

from bot.fake_telegram.api import JSON, WEBHOOK_CONFLICT, ApiError, bad_request, bot_method
from bot.fake_telegram.models import Webhook
from bot.fake_telegram.params import Params
from bot.fake_telegram.people import PeopleActions
from bot.fake_telegram.state import scope_key

_BOT_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]+")
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


class BotMethods(PeopleActions):
    """getMe, getUpdates, answerCallbackQuery, getFile, commands, webhooks, leaveChat."""

    @bot_method("getMe")
    async def _get_me(self, params: Params) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @bot_method("logOut", "close")
    async def _log_out(self, params: Params) -> bool:
        return True

    @bot_method("getUpdates")
    async def _get_updates(self, params: Params) -> list[JSON]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = params.integer("offset") or 0
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(params.number("timeout") or 0.0, 0.0)
        self._confirm_updates(offset)
        if not self._pending and timeout > 0:
            await self.wait_until(
                lambda: bool(self._pending) or self._closing or self._webhook is not None, timeout
            )
        if self._webhook is not None:
            return []
        return list(itertools.islice(self._pending, limit))

    def _confirm_updates(self, offset: int) -> None:
        if offset > 0:
            while self._pending and self._pending[0]["update_id"] < offset:
                self._pending.popleft()
        elif offset < 0:
            while len(self._pending) > -offset:
                self._pending.popleft()

    @bot_method("answerCallbackQuery")
    async def _answer_callback_query(self, params: Params) -> bool:
        query = self._callback_queries.get(params.text("callback_query_id") or "")
        if query is None or query.answer is not None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.text("text")
        if text and len(text) > CallbackQueryLimit.ANSWER_CALLBACK_QUERY_TEXT_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answer = {
            "callback_query_id": query.query_id,
            "update_id": query.update_id,
            "user_id": query.user_id,
            "message_id": query.message_id,
            "data": query.data,
            "text": text,
            "show_alert": params.flag("show_alert"),
            "url": params.text("url"),
            "cache_time": params.integer("cache_time") or 0,
        }
        self.callback_answers.append(query.answer)
        self._publish({"kind": "answer", "chat_id": query.user_id, **query.answer})
        self._notify()
        return True

    @bot_method("getFile")
    async def _get_file(self, params: Params) -> JSON:
        stored = self._files.get(params.text("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    @bot_method("setMyCommands")
    async def _set_my_commands(self, params: Params) -> bool:
        commands = params.obj("commands", "commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > BotCommandLimit.MAX_COMMAND_NUMBER:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        cleaned = []
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            description = str(command.get("description", "")) if isinstance(command, dict) else ""
            if not (
                BotCommandLimit.MIN_COMMAND <= len(name) <= BotCommandLimit.MAX_COMMAND
                and _BOT_COMMAND_NAME_RE.fullmatch(name)
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            if not (
                BotCommandLimit.MIN_DESCRIPTION
                <= len(description.strip())
                <= BotCommandLimit.MAX_DESCRIPTION
            ):
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = (scope_key(params.obj("scope", "scope")), params.text("language_code") or "")
        self._commands[key] = cleaned
        return True

    @bot_method("getMyCommands")
    async def _get_my_commands(self, params: Params) -> list[JSON]:
        return self.commands(params.text("language_code") or "", params.obj("scope", "scope"))

    @bot_method("deleteMyCommands")
    async def _delete_my_commands(self, params: Params) -> bool:
        key = (scope_key(params.obj("scope", "scope")), params.text("language_code") or "")
        self._commands.pop(key, None)
        return True

    @bot_method("setMyDescription", "setMyShortDescription", "setMyName", "setChatMenuButton")
    async def _set_bot_setting(self, params: Params) -> bool:
        # Stored as given so tests can see them; what Telegram clients do with them is not faked.
        for name, value in params.values.items():
            self.bot_settings[name] = value
        return True

    @bot_method("setWebhook")
    async def _set_webhook(self, params: Params) -> bool:
        url = params.text("url") or ""
        if params.flag("drop_pending_updates"):
            self._pending.clear()
        if not url:
            self._webhook = None
            self._notify()
            return True
        if not url.startswith(("http://", "https://")):
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = params.text("secret_token")
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = params.obj("allowed_updates", "allowed updates")
        self._webhook = Webhook(
            url=url,
            secret_token=secret or None,
            max_connections=params.integer("max_connections") or 40,
            allowed_updates=allowed if isinstance(allowed, list) else None,
        )
        self._notify()
        return True

    @bot_method("deleteWebhook")
    async def _delete_webhook(self, params: Params) -> bool:
        if params.flag("drop_pending_updates"):
            self._pending.clear()
        self._webhook = None
        self._notify()
        return True

    @bot_method("getWebhookInfo")
    async def _get_webhook_info(self, params: Params) -> JSON:
        info: JSON = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        webhook = self._webhook
        if webhook is not None:
            info["url"] = webhook.url
            info["max_connections"] = webhook.max_connections
            info["ip_address"] = "127.0.0.1"
            if webhook.allowed_updates is not None:
                info["allowed_updates"] = webhook.allowed_updates
            if webhook.last_error_date is not None:
                info["last_error_date"] = webhook.last_error_date
                info["last_error_message"] = webhook.last_error_message
        return info

    @bot_method("leaveChat")
    async def _leave_chat(self, params: Params) -> bool:
        raw = params.text("chat_id") or ""
        chat = self._chats.get(int(raw)) if raw.lstrip("-").isdigit() else None
        if chat is None:
            raise bad_request("chat not found")
        if chat.user is not None:
            raise bad_request("chat member status can't be changed in private chats")
        if chat.bot_status not in ("member", "administrator"):
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.kind} chat")
        old, chat.bot_status = chat.bot_status, "left"
        self.left_chats.append(chat.chat_id)
        self._push_member_update(chat, self.bot_id, old, "left")
        return True
