"""Notices as the reader and the admin see them: the reader's copy, its length limit, the
admin's status and progress reports, and the delivery worker's hooks.

The buttons (acknowledge under a copy, stop or re-send under the admin's status) are built on
the handlers' side: this module says which one a message offers (`NoticeAction`), and the
composition root hands the worker a `NoticeKeyboards` that builds them.
"""

from __future__ import annotations

import enum
import html
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.constants import MessageLimit

from bot.accounts import reader_translator, translator_for
from bot.config import SUPPORTED_LOCALES, Settings
from bot.delivery import DeliveryService, FloodGate, Rendered
from bot.enums import NoticeAudience, NoticeState
from bot.i18n import N_, Translator
from storage import bulk
from storage import notice_queries as nq
from storage import notice_reports as nr
from storage.db import SessionFactory
from storage.models import Account, OrgUnit
from storage.models_notices import Notice

if TYPE_CHECKING:
    from telegram import InlineKeyboardMarkup

log = logging.getLogger(__name__)

AUDIENCE_LABELS: dict[NoticeAudience, str] = {
    NoticeAudience.EVERYONE: N_("everyone in the organisation"),
    NoticeAudience.SECRETARIES: N_("branch secretaries only"),
    NoticeAudience.COMMITTEE: N_("branch committee members (secretaries and deputies)"),
    NoticeAudience.MEMBERS: N_("members"),
    NoticeAudience.MOBILE: N_("mobile members"),
    NoticeAudience.BRANCHES: N_("chosen branches"),
}

PROGRESS_BAR_WIDTH = 10


def other_locale(locale: str) -> str:
    """The second language a notice can be written in."""
    return next(loc for loc in SUPPORTED_LOCALES if loc != locale)


def escape(text: str) -> str:
    """The admin's words inside our HTML frame."""
    return html.escape(text, quote=False)


# ---- how a recipient sees a notice -----------------------------------------------------------


def frame(tr: Translator, org_name: str, body: str, *, require_ack: bool) -> str:
    """The notice in the reader's language frame: header, the admin's text, the ack hint."""
    parts = [
        tr._("📢 <b>Notice from {org}</b>").format(org=escape(org_name)),
        escape(body),
    ]
    if require_ack:
        parts.append(tr._("<i>Please press “Acknowledge” once you have read it.</i>"))
    return "\n\n".join(parts)


def text_limit(org: OrgUnit, *, require_ack: bool, with_media: bool) -> int:
    """How many characters the admin may write so every reader's copy fits Telegram's limit."""
    limit = MessageLimit.CAPTION_LENGTH if with_media else MessageLimit.MAX_TEXT_LENGTH
    widest = 0
    for locale in SUPPORTED_LOCALES:
        tr = Translator(locale)
        empty = frame(tr, org.display_name(locale), "", require_ack=require_ack)
        widest = max(widest, len(_plain(empty)))
    return int(limit) - widest


def _plain(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


# ---- progress ----------------------------------------------------------------------------------


def progress_bar(done: int, total: int) -> str:
    """A text progress bar with a percentage."""
    ratio = done / total if total else 1.0
    filled = round(ratio * PROGRESS_BAR_WIDTH)
    return "▓" * filled + "░" * (PROGRESS_BAR_WIDTH - filled) + f" {round(ratio * 100)}%"


def status_text(tr: Translator, notice: Notice, counts: nr.NoticeCounts) -> str:
    """The admin's view of a notice: state, bar and counts."""
    _ = tr._
    titles = {
        NoticeState.SCHEDULED: _("Notice #{id} is scheduled for {time}."),
        NoticeState.SENDING: _("Notice #{id} is going out."),
        NoticeState.DONE: _("Notice #{id} has gone out."),
        NoticeState.CANCELLED: _("Notice #{id} was cancelled."),
    }
    lines = [titles[notice.state].format(id=notice.id, time=tr.datetime(notice.send_at))]
    if counts.recipients:
        lines.append(progress_bar(counts.done, counts.recipients))
        lines.append(
            _(
                "Sent {sent} · failed {failed} · unreachable {unreachable} · "
                "acknowledged {acknowledged} · of {total}"
            ).format(
                sent=counts.sent,
                failed=counts.failed,
                unreachable=counts.unreachable,
                acknowledged=counts.acknowledged,
                total=counts.recipients,
            )
        )
        if counts.cancelled:
            lines.append(
                _("Not sent because of cancelling: {count}").format(count=counts.cancelled)
            )
    return "\n".join(lines)


class NoticeAction(enum.Enum):
    """The button under the admin's status of a notice."""

    STOP = "stop"
    RESEND = "resend"


def status_action(notice: Notice, counts: nr.NoticeCounts) -> NoticeAction | None:
    """Stop while it goes out; re-send to non-acknowledgers once it has."""
    if notice.state in (NoticeState.SCHEDULED, NoticeState.SENDING):
        return NoticeAction.STOP
    if (
        notice.state is NoticeState.DONE
        and notice.require_ack
        and counts.acknowledged < counts.sent
    ):
        return NoticeAction.RESEND
    return None


class NoticeKeyboards(Protocol):
    """The buttons of notices, built on the handlers' side (bot.app wires them in)."""

    def copy(self, tr: Translator, delivery_id: int) -> InlineKeyboardMarkup:
        """The acknowledge button under one reader's copy."""

    def status(
        self, tr: Translator, notice_id: int, action: NoticeAction | None
    ) -> InlineKeyboardMarkup | None:
        """The button under the admin's status of a notice, if any."""


async def admin_translator(session: AsyncSession, notice: Notice, settings: Settings) -> Translator:
    """The translator of whoever wrote the notice."""
    account = await session.get(Account, notice.created_by) if notice.created_by else None
    return translator_for(account, settings, None)


# ---- the hooks the delivery worker calls -----------------------------------------------------


@dataclass(slots=True)
class _Template:
    org_names: dict[str, str]
    texts: dict[str, str]
    primary: str
    require_ack: bool
    media_kind: str | None
    media_file_id: str | None


class NoticeRenderer:
    """Builds each copy in its reader's language at send time (notices are cached: immutable)."""

    def __init__(self, settings: Settings, keyboards: NoticeKeyboards) -> None:
        self._settings = settings
        self._keyboards = keyboards
        self._templates: dict[int, _Template] = {}

    async def __call__(self, session: AsyncSession, copy: nq.Outgoing) -> Rendered | None:
        """Render one outbox row."""
        template = self._templates.get(copy.notice_id)
        if template is None:
            notice = await nq.notice_by_id(session, copy.notice_id)
            if notice is None:
                return None
            org = await session.get(OrgUnit, notice.org_unit_id)
            assert org is not None
            template = _Template(
                org_names={loc: org.display_name(loc) for loc in SUPPORTED_LOCALES},
                texts={t.locale: t.body for t in notice.texts},
                primary=notice.primary_locale,
                require_ack=notice.require_ack,
                media_kind=notice.media_kind.value if notice.media_kind else None,
                media_file_id=notice.media_file_id,
            )
            self._templates[copy.notice_id] = template
        tr = reader_translator(
            self._settings,
            locale=copy.locale,
            telegram_language=copy.telegram_language,
            time_zone=copy.time_zone,
        )
        body = template.texts.get(tr.locale) or template.texts.get(template.primary, "")
        return Rendered(
            text=frame(tr, template.org_names[tr.locale], body, require_ack=template.require_ack),
            keyboard=self._keyboards.copy(tr, copy.delivery_id) if template.require_ack else None,
            media_kind=template.media_kind,
            media_file_id=template.media_file_id,
        )


class NoticeProgress:
    """Edits each admin's confirmation message with progress, then with the summary."""

    def __init__(self, db: SessionFactory, settings: Settings, keyboards: NoticeKeyboards) -> None:
        self._db = db
        self._settings = settings
        self._keyboards = keyboards
        self._shown: dict[int, str] = {}
        self._edited_at: dict[int, float] = {}
        self.service: DeliveryService | None = None

    async def __call__(self, final: bool) -> None:
        """Report on notices going out and on those that just finished."""
        assert self.service is not None
        now = self._settings.now()
        async with self._db.begin() as session:
            # Counting a province's copies with parallel workers took three times the CPU of
            # one process, beside the writing of those copies on a 2-core machine.
            await bulk.one_core(session)
            finished = await nr.finished_notices(session, now)
            going = await nr.sending_notices(session)
            updates = []
            for notice in [*finished, *going]:
                if notice.admin_chat_id is None or notice.progress_message_id is None:
                    continue
                counts = await nr.notice_counts(session, notice.id)
                tr = await admin_translator(session, notice, self._settings)
                action = status_action(notice, counts)
                updates.append(
                    (
                        notice,
                        status_text(tr, notice, counts),
                        self._keyboards.status(tr, notice.id, action),
                    )
                )
        for notice, text, keyboard in updates:
            await self.show(notice, text, keyboard, force=notice.state is not NoticeState.SENDING)

    async def show(
        self, notice: Notice, text: str, keyboard: InlineKeyboardMarkup | None, *, force: bool
    ) -> None:
        """Edit the admin's message unless nothing changed or it was edited a moment ago."""
        assert self.service is not None
        if notice.admin_chat_id is None or notice.progress_message_id is None:
            return
        key = notice.id
        shown = text + repr(keyboard.to_dict() if keyboard else None)
        if self._shown.get(key) == shown:
            return
        now = time.monotonic()
        if (
            not force
            and now - self._edited_at.get(key, -1e9) < self._settings.delivery_progress_seconds
        ):
            return
        self._shown[key], self._edited_at[key] = shown, now
        await self.service.edit_text(
            notice.admin_chat_id, notice.progress_message_id, text, keyboard
        )


def audience_label(
    tr: Translator, audience: NoticeAudience, branches: Iterable[OrgUnit] = ()
) -> str:
    """The audience in words, with the chosen branches' codes."""
    label = tr._(AUDIENCE_LABELS[audience])
    codes = [b.code for b in branches]
    return (
        tr._("{label}: {value}").format(label=label, value=tr._(", ").join(codes))
        if codes
        else label
    )


def notice_delivery(
    db: SessionFactory, settings: Settings, gate: FloodGate, keyboards: NoticeKeyboards
) -> DeliveryService:
    """The delivery worker wired with the notice renderer and progress reports."""
    progress = NoticeProgress(db, settings, keyboards)
    service = DeliveryService(
        db=db,
        settings=settings,
        gate=gate,
        render=NoticeRenderer(settings, keyboards),
        on_progress=progress,
    )
    progress.service = service
    return service
