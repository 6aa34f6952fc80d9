"""The sandbox's web page and its HTTP API, served on loopback only.

    GET  /                              the page (phones side by side)
    GET  /api/state                     phones, their chats so far, the clock, the history
    GET  /api/events                    every event of the fake Telegram, live (server-sent)
    GET  /api/texts?locale=en           the page's own words
    GET  /api/files/<file_id>           a photo or file (?download=1: as an attachment)
    POST /api/phones/<id>/text|press|photo|document|language    act as that person
    GET  /api/clock, POST /api/clock {"advance": "1h" | "1d" | "90m" | "next"}
    POST /api/reset, POST /api/strangers

`POST /api/clock` is the documented way to move the sandbox's clock from outside the process
(`zhibu clock` calls it); the bot then does at once what became due. Every POST must carry
the header `X-Zhibu-Sandbox: 1`, which a page of another site cannot send without asking
first, and the Host must be a loopback name, so no other site can drive the sandbox.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

import tornado.web

from bot import clock
from bot.config import SUPPORTED_LOCALES
from bot.demo import BRANCHES, COMMITTEE, DemoUser
from bot.fake_telegram.api import FakeUsageError
from bot.fake_telegram.events import EventStreamHandler
from bot.i18n import Translator
from bot.sandbox.texts import clock_moved, nothing_planned, page_texts
from bot.sandbox.world import Sandbox, SandboxError, image_suffix

log = logging.getLogger(__name__)

PAGE_DIR = Path(__file__).resolve().with_name("page")
HEADER = "X-Zhibu-Sandbox"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
ORG_NAMES = {
    COMMITTEE: ("示范街道党工委", "Demo Sub-district Committee"),
    **{code: (name, name_en) for code, name, name_en, *_rest in BRANCHES},
}


def routes(sandbox: Sandbox) -> list[Any]:
    """Tornado routes of the page and its API."""
    options = {"sandbox": sandbox}
    return [
        (r"/", PageHandler, options),
        (r"/page/(.*)", tornado.web.StaticFileHandler, {"path": str(PAGE_DIR)}),
        (r"/api/events", SandboxEvents, {"server": sandbox.server}),
        (r"/api/state", StateHandler, options),
        (r"/api/texts", TextsHandler, options),
        (r"/api/files/([A-Za-z0-9_-]+)", FileHandler, options),
        (r"/api/phones/(\d+)/(text|press|photo|document|language)", PhoneHandler, options),
        (r"/api/clock", ClockHandler, options),
        (r"/api/reset", ResetHandler, options),
        (r"/api/strangers", StrangerHandler, options),
    ]


def application(sandbox: Sandbox) -> tornado.web.Application:
    """The page's Tornado application."""
    return tornado.web.Application(routes(sandbox), compress_response=False)


def phone_json(sandbox: Sandbox, phone: DemoUser) -> dict[str, Any]:
    """A phone as the page shows it."""
    name, name_en = ORG_NAMES.get(phone.org, (phone.org, phone.org))
    return {
        "telegram_id": phone.telegram_id,
        "name": phone.name,
        "kind": phone.kind,
        "org": phone.org,
        "org_name": {"zh_Hans": name, "en": name_en},
        "description": phone.description,
        "language_code": phone.language_code,
        "invite_code": phone.invite_code,
        "deep_link": sandbox.deep_link(phone),
    }


def clock_json(sandbox: Sandbox) -> dict[str, Any]:
    """The sandbox's clock, in UTC and as the organisation reads it."""
    now = clock.now()
    zone = sandbox.base_settings.tz
    return {
        "now": now.isoformat(),
        "local": now.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        "weekday": now.astimezone(zone).isoweekday(),
        "time_zone": sandbox.base_settings.timezone,
        "offset_seconds": int(clock.offset().total_seconds()),
        "movable": clock.movable(),
    }


class _Handler(tornado.web.RequestHandler):
    def initialize(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def compute_etag(self) -> None:
        return None

    def prepare(self) -> None:
        loopback_only(self)
        if self.request.method == "POST" and self.request.headers.get(HEADER) != "1":
            raise tornado.web.HTTPError(403, f"a POST needs the header {HEADER}: 1")

    def send_json(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body, ensure_ascii=False))

    def body_json(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise tornado.web.HTTPError(400, "the body must be JSON") from None
        if not isinstance(body, dict):
            raise tornado.web.HTTPError(400, "the body must be a JSON object")
        return body

    def translator(self) -> Translator:
        locale = self.get_query_argument("locale", "")
        if locale not in SUPPORTED_LOCALES:
            locale = self.sandbox.base_settings.default_locale
        return Translator(locale, self.sandbox.base_settings.timezone)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        reason = self._reason
        error = kwargs.get("exc_info", (None, None))[1]
        if isinstance(error, tornado.web.HTTPError) and error.log_message:
            reason = error.log_message
        self.send_json({"ok": False, "description": reason}, status_code)


def loopback_only(handler: tornado.web.RequestHandler) -> None:
    """Refuse a request whose Host is not a loopback name (a DNS-rebinding page's)."""
    host = handler.request.host.rsplit(":", 1)[0] if handler.request.host else ""
    if host not in LOOPBACK_HOSTS:
        raise tornado.web.HTTPError(403, "the sandbox answers on loopback only")


class SandboxEvents(EventStreamHandler):
    """The fake Telegram's event stream, on the page's own address."""

    def prepare(self) -> None:
        loopback_only(self)


class PageHandler(_Handler):
    """The page itself."""

    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish((PAGE_DIR / "index.html").read_bytes())


class StateHandler(_Handler):
    def get(self) -> None:
        sandbox = self.sandbox
        history = sandbox.history
        self.send_json(
            {
                "ok": True,
                "phones": [phone_json(sandbox, p) for p in sandbox.phones],
                "chats": {
                    str(p.telegram_id): sandbox.server.chat_history(p.telegram_id)
                    for p in sandbox.phones
                },
                "clock": clock_json(sandbox),
                "history": dataclasses.asdict(history) if history else None,
                "bot_username": sandbox.server.bot_username,
            }
        )


class TextsHandler(_Handler):
    def get(self) -> None:
        locale = self.translator().locale
        self.send_json(
            {
                "ok": True,
                "locale": locale,
                "texts": page_texts(locale, self.sandbox.base_settings.timezone),
            }
        )


class FileHandler(_Handler):
    def get(self, file_id: str) -> None:
        stored = self.sandbox.server.stored_file(file_id)
        if stored is None:
            raise tornado.web.HTTPError(404, "no such file")
        mime_type = stored.mime_type or "application/octet-stream"
        name = stored.file_name or stored.file_path.rsplit("/", 1)[-1]
        if stored.file_path.startswith("photos/"):
            # The bot uploads bytes without a type; a photo is shown as what it is.
            suffix = image_suffix(stored.data)
            mime_type, name = (
                f"image/{'jpeg' if suffix == '.jpg' else suffix[1:]}",
                f"photo{suffix}",
            )
        self.set_header("Content-Type", mime_type)
        disposition = "attachment" if self.get_query_argument("download", "") else "inline"
        self.set_header("Content-Disposition", f"{disposition}; filename*=UTF-8''{quote(name)}")
        self.finish(stored.data)


class PhoneHandler(_Handler):
    """Act as one of the phones: type, press, send a photo or a file, switch language."""

    async def post(self, raw_id: str, action: str) -> None:
        telegram_id = int(raw_id)
        server = self.sandbox.server
        try:
            self.sandbox.phone(telegram_id)  # only the sandbox's own phones
            if action == "language":
                body = self.body_json()
                changed = await self.sandbox.set_language(telegram_id, str(body["language_code"]))
                self.send_json({"ok": True, "result": phone_json(self.sandbox, changed)})
                return
            if action in ("photo", "document"):
                result = self._upload(telegram_id, action)
            elif action == "text":
                text = str(self.body_json().get("text", "")).strip()
                if not text:
                    raise tornado.web.HTTPError(400, "the message is empty")
                result = server.user_sends_text(telegram_id, text)
            else:
                body = self.body_json()
                result = server.user_presses(
                    telegram_id, int(body["message_id"]), data=str(body["data"])
                )
        except (SandboxError, FakeUsageError, KeyError, ValueError) as exc:
            raise tornado.web.HTTPError(400, str(exc)) from None
        self.send_json({"ok": True, "result": result})

    def _upload(self, telegram_id: int, action: str) -> int:
        files = self.request.files.get("file")
        if not files:
            raise tornado.web.HTTPError(400, "choose a file")
        upload = files[0]
        caption = self.get_body_argument("caption", "") or None
        server = self.sandbox.server
        if action == "photo":
            return server.user_sends_photo(telegram_id, upload.body, caption=caption)
        return server.user_sends_document(
            telegram_id,
            upload.body,
            upload.filename or "file",
            mime_type=upload.content_type or None,
            caption=caption,
        )


class ClockHandler(_Handler):
    """The sandbox's clock: read it, or move it forward and fire what became due."""

    def get(self) -> None:
        self.send_json({"ok": True, "result": clock_json(self.sandbox)})

    async def post(self) -> None:
        step = str(self.body_json().get("advance", ""))
        tr = self.translator()
        try:
            fired = await self.sandbox.advance(step)
        except SandboxError as exc:
            message = nothing_planned(tr) if step == "next" else str(exc)
            self.send_json({"ok": False, "description": message}, 409)
            return
        result = clock_json(self.sandbox) | {
            "reminders": fired.reminders,
            "messages": fired.messages,
            "planned": fired.planned,
            "message": clock_moved(tr, fired.messages),
        }
        self.send_json({"ok": True, "result": result})


class ResetHandler(_Handler):
    async def post(self) -> None:
        await self.sandbox.reset()
        self.send_json({"ok": True, "result": clock_json(self.sandbox)})


class StrangerHandler(_Handler):
    async def post(self) -> None:
        stranger = await self.sandbox.new_stranger()
        self.send_json({"ok": True, "result": phone_json(self.sandbox, stranger)})
