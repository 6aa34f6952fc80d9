"""The preview of a notice being composed: each language version exactly as readers get it,
then the summary to confirm."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import BotContext
from bot.enums import MediaKind, NoticeAudience
from bot.i18n import Translator
from bot.notices import audience_label, frame
from handlers.common import escape, keyboard
from handlers.language_texts import language_word
from handlers.notice_buttons import ConfirmNotice, DropNotice
from handlers.notice_view import preview_keyboard
from storage import notice_audiences as na
from storage.models import OrgUnit


@dataclass(frozen=True, slots=True)
class Copy:
    """One language version as its readers will see it."""

    locale: str
    text: str
    require_ack: bool


@dataclass(frozen=True, slots=True)
class Preview:
    """What the preview shows: the copies, the attachment, and the summary."""

    copies: tuple[Copy, ...]
    media_kind: str | None
    media_file_id: str | None
    summary: str


async def preview_of(
    context: BotContext, session: AsyncSession, org: OrgUnit, data: Mapping[str, Any]
) -> Preview:
    """The preview of a draft (`data`: the /notify conversation's answers)."""
    audience = NoticeAudience(str(data["audience"]))
    branch_ids = [int(b) for b in data.get("branch_ids") or []]
    counted = await na.audience_count(session, root=org, audience=audience, branch_ids=branch_ids)
    branches = await na.picked_branches(session, org, branch_ids)
    require_ack = bool(data.get("ack"))
    copies = tuple(
        Copy(
            locale,
            frame(
                Translator(locale, context.tr.time_zone),
                org.display_name(locale),
                body,
                require_ack=require_ack,
            ),
            require_ack,
        )
        for locale, body in dict(data.get("texts") or {}).items()
    )
    unreachable = counted.unreachable
    send_at = data.get("send_at")
    when = (
        context._("at {time}").format(
            time=context.tr.datetime(dt.datetime.fromisoformat(str(send_at)))
        )
        if send_at
        else context._("now")
    )
    lines = [
        context._("Recipients: {count}").format(count=counted.reachable),
        context._("Audience: {audience}").format(
            audience=escape(audience_label(context.tr, audience, branches))
        ),
        context._("Acknowledgement: {required}").format(
            required=context._("required") if require_ack else context._("not required")
        ),
        context._("Sending: {when}").format(when=when),
    ]
    if unreachable:
        lines.append(
            context._("{count} more have blocked the bot and will be skipped.").format(
                count=unreachable
            )
        )
    lines.append(context._("Send this notice?"))
    return Preview(
        copies,
        str(data["media_kind"]) if data.get("media_kind") else None,
        str(data["media_file_id"]) if data.get("media_file_id") else None,
        "\n".join(lines),
    )


async def send_preview(update: Update, context: BotContext, preview: Preview) -> None:
    """Send the preview, then the summary with Confirm and Cancel."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    chat = update.effective_chat
    if chat is None:
        return
    bot = context.bot
    for copy in preview.copies:
        tr = Translator(copy.locale, context.tr.time_zone)
        markup = preview_keyboard(tr) if copy.require_ack else None
        await bot.send_message(
            chat.id,
            context._("Preview ({language}):").format(language=language_word(context, copy.locale)),
        )
        if preview.media_kind == MediaKind.PHOTO.value and preview.media_file_id:
            await bot.send_photo(
                chat.id, preview.media_file_id, caption=copy.text, reply_markup=markup
            )
        elif preview.media_kind == MediaKind.DOCUMENT.value and preview.media_file_id:
            await bot.send_document(
                chat.id, preview.media_file_id, caption=copy.text, reply_markup=markup
            )
        else:
            await bot.send_message(chat.id, copy.text, reply_markup=markup)
    rows = [
        [
            (context._("Confirm and send"), ConfirmNotice().data),
            (context._("Cancel"), DropNotice().data),
        ]
    ]
    await bot.send_message(chat.id, preview.summary, reply_markup=keyboard(rows))
