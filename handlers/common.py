"""Shared handler plumbing: loading the sender, refusals, the error handler, odd input."""

from __future__ import annotations

import enum
import functools
import html
import logging
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User
from telegram.error import BadRequest, TelegramError

from bot.accounts import load_sender
from bot.context import BotContext
from bot.enums import Role
from bot.errors import Refused
from bot.i18n import N_
from bot.rules.phones import PhoneProblem
from bot.telegram_text import fits_one_message, split_message
from bot.update_context import note_failure, note_handler
from storage import queries
from storage.models import OrgUnit

log = logging.getLogger(__name__)

R = TypeVar("R")
Callback = Callable[[Update, BotContext], Coroutine[Any, Any, R]]

# Free-text answers are short facts (names, places, codes); minutes have their own limit.
SHORT_TEXT_LIMIT = 100


class Access(enum.Enum):
    """Why a sender may not use a handler at all."""

    NOT_REGISTERED = enum.auto()
    WRONG_ROLE = enum.auto()


async def load_into(context: BotContext, session: AsyncSession, user: User) -> None:
    """Load the sender's account, principal and translator into the context."""
    account, principal, translator = await load_sender(session, user, context.settings)
    context.account, context.principal = account, principal
    context.use_translator(translator)


def access_problem(
    context: BotContext, *, registered: bool, roles: frozenset[Role] | None
) -> Access | None:
    """Whether the loaded sender may use a handler that needs registration or one of roles."""
    if registered and not context.principal.registered:
        return Access.NOT_REGISTERED
    if roles and not (context.principal.roles() & roles):
        return Access.WRONG_ROLE
    return None


async def refuse_access(update: Update, context: BotContext, problem: Access) -> None:
    """Tell the sender why they may not use this."""
    if problem is Access.NOT_REGISTERED:
        await answer(
            update,
            context,
            context._(
                "You are not registered yet. Open the invite link your secretary or the "
                "organisation department sent you, or send /start with the invite code."
            ),
        )
    else:
        await refuse(update, context)


def sender(
    *, registered: bool = False, roles: frozenset[Role] | None = None
) -> Callable[[Callback[R]], Callback[R | None]]:
    """Load the sender before the handler runs, refusing the unregistered or the wrong role;
    a `Refused` raised by the handler becomes the refusal."""

    def decorate(func: Callback[R]) -> Callback[R | None]:
        name = f"{func.__module__}.{func.__qualname__}"

        @functools.wraps(func)
        async def wrapper(update: Update, context: BotContext) -> R | None:
            note_handler(name)
            user = update.effective_user
            if user is None:
                return None
            async with context.db.begin() as session:
                await load_into(context, session, user)
            problem = access_problem(context, registered=registered, roles=roles)
            if problem is not None:
                await refuse_access(update, context, problem)
                return None
            try:
                return await func(update, context)
            except Refused as refused:
                await refuse(update, context, refused.text)
                return None

        return wrapper

    return decorate


async def answer(
    update: Update,
    context: BotContext,
    text: str,
    keyboard: InlineKeyboardMarkup | None = None,
) -> Message | None:
    """Reply in the chat the update came from (acknowledging a button press first).

    A text over Telegram's limit goes in several messages; the buttons come with the last.
    """
    if update.callback_query is not None:
        await update.callback_query.answer()
    chat = update.effective_chat
    if chat is None:
        return None
    keyboard = _markup(keyboard)
    *before, last = split_message(text)
    for part in before:
        await context.bot.send_message(chat.id, part)
    return await context.bot.send_message(chat.id, last, reply_markup=keyboard)


def _markup(keyboard: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """No keyboard for one without buttons: PTB sends it as `{}`, which Telegram rejects (a
    search that found nothing would otherwise fail the whole reply)."""
    return keyboard if keyboard is not None and keyboard.inline_keyboard else None


async def edit_or_answer(
    update: Update, context: BotContext, text: str, keyboard: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Edit the message whose button was pressed, or send a new one for typed input (or for a
    text too long for one message, which then comes in parts); return the message shown."""
    query = update.callback_query
    if query is not None and isinstance(query.message, Message) and fits_one_message(text):
        await query.answer()
        try:
            await query.message.edit_text(text, reply_markup=_markup(keyboard))
        except BadRequest as exc:
            # Pressing the same button twice edits to identical content; that's fine.
            if "not modified" not in exc.message:
                raise
        return query.message
    return await answer(update, context, text, keyboard)


async def refuse(update: Update, context: BotContext, text: str | None = None) -> None:
    """Tell the sender this is outside their role or scope; nothing was changed."""
    message = text or context._("Sorry, this is not available for your role. Nothing was changed.")
    if update.callback_query is not None:
        await update.callback_query.answer(message[:200], show_alert=True)
        return
    await answer(update, context, message)


def in_rows(buttons: list[tuple[str, str]], width: int) -> list[list[tuple[str, str]]]:
    """Buttons laid out `width` to a row."""
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Inline keyboard from rows of (label, callback data)."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


@dataclass(frozen=True, slots=True)
class Page:
    """Which page of a long list is shown (from 0) and how many there are."""

    index: int
    count: int
    size: int

    @classmethod
    def of(cls, requested: int, total: int, size: int) -> Page:
        """The requested page, or the last one there is: a list may have shrunk since its
        page button was sent."""
        count = max(1, -(-total // size))
        return cls(min(max(requested, 0), count - 1), count, size)

    @property
    def offset(self) -> int:
        """How many items come before this page."""
        return self.index * self.size

    def buttons(
        self, data: str | Callable[[int], str], back: str = "‹", forward: str = "›"
    ) -> list[tuple[str, str]]:
        """A row to the neighbouring pages (empty when there is one page); `data` gives the
        callback data of a page number (or is a format string with `{}` where it goes)."""
        build = data.format if isinstance(data, str) else data
        row = []
        if self.index > 0:
            row.append((back, build(self.index - 1)))
        if self.index + 1 < self.count:
            row.append((forward, build(self.index + 1)))
        return row

    def caption(self, context: BotContext) -> str:
        """ "page 2 of 5", or nothing when everything fits on one page."""
        if self.count == 1:
            return ""
        return context._("page {page} of {pages}").format(page=self.index + 1, pages=self.count)


def phone_problem_text(context: BotContext, problem: PhoneProblem) -> str:
    """Why a typed phone number was not taken, and what to send instead."""
    if problem is PhoneProblem.ID_NUMBER:
        return context._(
            "That looks like an ID card number, which Zhibu never stores. Send a phone "
            "number, or press Skip."
        )
    return context._("That doesn't look like a phone number. Send digits only, or press Skip.")


def escape(text: str) -> str:
    """User text inside our HTML messages."""
    return html.escape(text, quote=False)


def clean_text(text: str | None, *, limit: int = SHORT_TEXT_LIMIT) -> str | None:
    """Trimmed single-line text within the limit, or None when empty or too long."""
    if text is None:
        return None
    value = " ".join(text.split())
    if not value or len(value) > limit:
        return None
    return value


async def offer_matching_nodes(
    update: Update,
    context: BotContext,
    text: str,
    *,
    usable: Callable[[OrgUnit], bool],
    data: str | Callable[[int], str],
) -> bool:
    """Offer, as buttons `<data><id>` (or `data(id)`, a Button family's), the nodes matching a
    typed code or name that the sender may use; say so when there are none. Returns whether
    anything was offered."""
    async with context.db() as session:
        found = await queries.search_org_units(session, text, limit=20)
    allowed = [o for o in found if usable(o)][:8]
    if not allowed:
        await answer(
            update,
            context,
            context._("Nothing in your scope matches “{text}”. Try another code or name.").format(
                text=escape(text)
            ),
        )
        return False
    locale = context.tr.locale
    button = data if callable(data) else (lambda node_id: f"{data}{node_id}")
    rows = [[(f"{o.code} {o.display_name(locale)}"[:60], button(o.id))] for o in allowed]
    await answer(update, context, context._("Choose one:"), keyboard(rows))
    return True


async def error_handler(update: object, context: BotContext) -> None:
    """Log the failing update by its ids, with its error, and give the user a short apology."""
    # Ids only: the update's text, the sender's name or a button's data never go to the log,
    # and bot.logs withholds the error's message (it may quote them) from the traceback.
    note_failure()
    log.error(
        "error while handling %s in %s: %s",
        describe_update(update),
        failing_handler(context.error),
        type(context.error).__name__,
        exc_info=context.error,
    )
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    tr = context.tr if context.account is not None else context.translator_for_update(update)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await context.bot.send_message(
            update.effective_chat.id,
            tr._(
                "Sorry, something went wrong on our side. Your earlier answers are kept; "
                "please try again in a moment."
            ),
        )
    except TelegramError:
        log.exception("could not send the apology")


def describe_update(update: object) -> str:
    """An update by its ids: update, chat and user."""
    if not isinstance(update, Update):
        return f"<{type(update).__name__}>"
    chat = update.effective_chat.id if update.effective_chat else None
    user = update.effective_user.id if update.effective_user else None
    return f"update {update.update_id} (chat {chat}, user {user})"


def failing_handler(error: BaseException | None) -> str:
    """The handler function the error came from: the innermost frame in a feature module,
    else in the shared plumbing (which has handlers of its own), else the callback PTB ran."""
    feature = plumbing = callback = None
    frames = traceback.walk_tb(error.__traceback__) if error is not None else iter(())
    for frame, _ in frames:
        module = str(frame.f_globals.get("__name__", ""))
        name = f"{module}.{frame.f_code.co_name}"
        if module in _PLUMBING:
            plumbing = name
        elif module.startswith("handlers."):
            feature = name
        elif callback is None and not module.startswith("telegram"):
            callback = name
    return feature or plumbing or callback or "?"


# Shared plumbing a handler calls; the handler itself is the more useful name.
_PLUMBING = frozenset({"handlers.common", "handlers.flow", "handlers.buttons"})


@sender()
async def unknown_command(update: Update, context: BotContext) -> None:
    """Answer a command we don't have."""
    await answer(
        update, context, context._("I don't know that command. Send /help to see what I can do.")
    )


@sender()
async def unexpected_input(update: Update, context: BotContext) -> None:
    """Answer stickers, photos or text that no flow is waiting for."""
    await answer(
        update,
        context,
        context._(
            "I'm not waiting for anything from you right now. Send /help to see what I can do."
        ),
    )


async def stale_button_alert(update: Update, context: BotContext) -> None:
    """Tell the presser that this button belongs to something that is over."""
    query = update.callback_query
    if query is not None:
        await query.answer(context._("This button is no longer active."), show_alert=True)


@sender()
async def stale_button(update: Update, context: BotContext) -> None:
    """A button from an old message, or callback data we never sent."""
    await stale_button_alert(update, context)


def in_conversation_fallbacks(
    reprompt: Callable[[Update, BotContext], Coroutine[Any, Any, None]],
) -> Callable[[Update, BotContext], Coroutine[Any, Any, None]]:
    """A fallback for a conversation: explain, repeat the current question, keep the state."""

    @sender()
    async def fallback(update: Update, context: BotContext) -> None:
        if update.callback_query is not None:
            await update.callback_query.answer(
                context._("This button is no longer active."), show_alert=True
            )
            return
        message = update.effective_message
        too_long = (
            message is not None
            and message.text is not None
            and len(message.text) > SHORT_TEXT_LIMIT
        )
        if too_long:
            text = context._("That is too long (at most {limit} characters).").format(
                limit=SHORT_TEXT_LIMIT
            )
        else:
            text = context._("That is not what I asked for.")
        await answer(update, context, text)
        await reprompt(update, context)

    return fallback


# Role names shown to users; the keys are stored values.
ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: N_("admin"),
    Role.SECRETARY: N_("branch secretary"),
    Role.DEPUTY: N_("deputy secretary"),
    Role.MEMBER: N_("member"),
    Role.COMMITTEE: N_("branch committee member"),
    Role.GROUP_LEADER: N_("party group leader"),
}


async def chat_member_changed(update: Update, context: BotContext) -> None:
    """Note that a user blocked the bot (or unblocked it) so broadcasts skip or include them."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    blocked = change.new_chat_member.status in ("kicked", "left")
    async with context.db.begin() as session:
        await queries.set_reachable(
            session,
            telegram_id=change.from_user.id,
            reachable=not blocked,
            now=context.settings.now(),
        )
