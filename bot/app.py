"""The composition root: one Application, its defaults, and every handler in visible order."""

from __future__ import annotations

import functools
import logging
import warnings
from typing import Any

from telegram import Bot, BotCommand
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    Defaults,
    MessageHandler,
    filters,
)

from bot.cluster import BOOK_KEY, CLUSTER_POOL, bookkeeping_engine
from bot.commands import COMMANDS
from bot.config import SUPPORTED_LOCALES, Settings
from bot.context import SERVICES_KEY, BotContext, Services
from bot.conversation_states import ConversationStates
from bot.delivery import GATE_KEY, GateRateLimiter, gate_for
from bot.i18n import Translator, load_catalogs
from bot.leader_jobs import LEADER_KEY, LeaderJobs
from bot.logs import install_redaction
from bot.meetings.card import CARDS_KEY, MeetingCards, gated_edit
from bot.notices import notice_delivery
from bot.ops import METRICS_KEY, Metrics, ops_server
from bot.persistence import DatabasePersistence
from bot.relink.notifier import RENDER_KEY
from bot.reminders.engine import REMINDERS_KEY, ReminderEngine
from bot.shared_gate import SharedGate, shared_gate_for
from bot.transport import AiohttpRequest
from bot.updates import PerChatUpdateProcessor, ask_to_slow_down, name_handlers
from bot.workers import close_shared_workers
from handlers import (
    access_admin,
    activity,
    activity_log,
    book,
    cancel,
    common,
    due,
    dues,
    dues_report,
    dues_standard,
    dues_ticks,
    flow,
    grading,
    grading_answer,
    grading_codes,
    grading_rectify,
    grading_results,
    grading_start,
    grading_superior,
    grading_survey,
    hours,
    invite,
    meet,
    meeting_buttons,
    meeting_card,
    meeting_move,
    meeting_rsvp,
    meetings,
    notice_report,
    notice_view,
    notices,
    notify,
    privacy,
    private_chats,
    profile,
    relink,
    relink_list,
    relink_notices,
    relink_report,
    relink_review,
    reminder_settings,
    reports,
    start,
    training,
    training_buttons,
    training_schedule,
)
from storage.db import create_engine, session_factory

log = logging.getLogger(__name__)

ZhibuApp = Application[Any, BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any]
CLUSTER_KEY = "zhibu.cluster"
OPS_KEY = "zhibu.ops"
SENDER_KEY = "zhibu.sender"


# Our conversations are tracked per chat and user on purpose (buttons belong to the
# conversation, not to one message), which is exactly what this PTB warning is about.
warnings.filterwarnings(
    "ignore", message=r"If 'per_message=False'", category=UserWarning, module="handlers"
)


def build_application(
    settings: Settings, *, rate_limit: bool = True, cluster: bool = False
) -> ZhibuApp:
    """Build the bot: services, defaults, persistence and handlers.

    `cluster`: one of several processes on a PostgreSQL database (bot.serve_cluster): Telegram's
    limits are shared through the database, and the leader's jobs start only when this process
    is elected; otherwise the process is the only one and runs them from start to stop.
    """
    # No log record of the bot's process carries people's data (bot/logs.py).
    install_redaction()
    load_catalogs()
    # In a cluster the pools are sized, without overflow: a connection opened past the pool
    # and closed again costs a SCRAM handshake each time (tens of milliseconds of CPU).
    engine = create_engine(settings.database_url, **(CLUSTER_POOL if cluster else {}))
    book = bookkeeping_engine(settings.database_url) if cluster else None
    services = Services(settings=settings, db=session_factory(engine))
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    updates = PerChatUpdateProcessor(backlog=settings.chat_backlog)
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.bot_api_url)
        .base_file_url(settings.file_url)
        # aiohttp under PTB's request hook: a third of httpx's CPU per call (bot/transport.py).
        .request(AiohttpRequest(connection_pool_size=64))
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz))
        .context_types(ContextTypes(context=BotContext))
        .persistence(DatabasePersistence(services.db))
        .concurrent_updates(updates)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    # Telegram's limits, shared by interactive replies and the notice broadcasts (and, in a
    # cluster, by every process: its statements commit one by one).
    gate = gate_for(settings) if book is None else shared_gate_for(settings, session_factory(book))
    if rate_limit:
        # Interactive replies take a slot first (before broadcasts); retries once on a 429.
        builder = builder.rate_limiter(GateRateLimiter(gate, max_retries=1))
    application: ZhibuApp = builder.build()
    updates.on_overflow = functools.partial(ask_to_slow_down, application.bot, settings)
    application.bot_data[SERVICES_KEY] = services
    application.bot_data["zhibu.engine"] = engine
    application.bot_data[BOOK_KEY] = book
    application.bot_data[GATE_KEY] = gate
    application.bot_data[CLUSTER_KEY] = cluster
    # Updates handled, reply latency, sends and 429s (bot.ops), counted where they happen.
    metrics = Metrics()
    gate.observer = metrics
    updates.on_finished = lambda _update, outcome, seconds: metrics.finished(outcome, seconds)
    application.bot_data[METRICS_KEY] = metrics
    application.bot_data[LEADER_KEY] = LeaderJobs(
        application,
        # The buttons under copies and progress reports are the handlers' (notice_view).
        delivery=functools.partial(
            notice_delivery, services.db, settings, gate, notice_view.KEYBOARDS
        ),
        relink_render=relink_notices.render,
        menus=functools.partial(set_command_menus, application),
    )
    add_handlers(application)
    name_handlers(application)  # the JSON log lines say which handler took the update
    # Before each update, its conversations' states as stored: any process continues any
    # conversation, and a draft ended meanwhile (or idle too long) is over here too.
    # (In a cluster through the bookkeeping engine: one round trip, no transaction around it.)
    updates.prepare = ConversationStates(
        services.db if book is None else session_factory(book),
        _conversations(application),
        flow.idle_limits(),
    )
    return application


def _conversations(application: ZhibuApp) -> list[ConversationHandler[Any]]:
    return [
        handler
        for group in application.handlers.values()
        for handler in group
        if isinstance(handler, ConversationHandler)
    ]


def add_handlers(application: ZhibuApp) -> None:
    """Every handler, in the order PTB tries them: conversations, commands, then catch-alls."""
    # Before anything else: outside private chats nothing answers, the bot says so and leaves.
    # A group of its own: PTB runs one handler per group, and this one looks at every update.
    application.add_handler(private_chats.handler(), group=-2)
    # Buttons on delivered notices work whatever conversation the reader is in.
    for notice_handler in notices.handlers():
        application.add_handler(notice_handler)
    # Answers to training invitations, likewise.
    for invitation_handler in training.buttons():
        application.add_handler(invitation_handler)
    # Answers to meeting invitations and the caller's card, likewise.
    _add_meeting_buttons(application)
    # Buttons on relink request cards too, and the words some of them ask for.
    application.add_handler(relink_review.build())
    for relink_handler in relink_list.handlers():
        application.add_handler(relink_handler)
    application.add_handler(start.build())
    application.add_handler(invite.build())
    application.add_handler(access_admin.build())
    # Before /relink stores anything about someone with no account, the privacy notice; the
    # gate runs first (its own group) and stops the update there for them.
    application.add_handler(privacy.relink_gate(), group=-1)
    application.add_handler(notify.build())
    # Before the activity conversation: an agenda naming a kind is not a quick log.
    application.add_handler(meet.build())
    for report_handler in notice_report.handlers():
        application.add_handler(report_handler)
    application.add_handler(relink.build())
    for handler in (*profile.handlers(), *privacy.handlers()):
        application.add_handler(handler)
    # Grading conversations are entered only by their own buttons; once one is open it takes
    # the user's text before other conversations' entry points (a date typed as a deadline is
    # not a quick log). `/report grading` goes before reports' /report.
    for grading_conversation in (
        grading_answer.build(),
        grading_superior.build(),
        grading_survey.build(),
        grading_rectify.build(),
        dues_standard.build(),
    ):
        application.add_handler(grading_conversation)
    application.add_handler(grading_results.report_handler())
    application.add_handler(activity.build())
    # Takes only `/report relink`; other sub-reports go on to the next /report handler.
    application.add_handler(relink_report.report_handler())
    # `/report dues` and `/report training` likewise (with their buttons), then /dues.
    for activity_handler in (
        *dues_report.handlers(),
        *hours.handlers(),
        *dues.handlers(),
        *dues_ticks.handlers(),
        *activity_log.handlers(),
        *due.handlers(),
        *reports.handlers(),
        *book.handlers(),
    ):
        application.add_handler(activity_handler)
    for grading_handler in (
        *grading.handlers(),
        *grading_start.handlers(),
        *grading_results.handlers(),
        *grading_codes.handlers(),
        *grading_survey.handlers(),
        *grading_rectify.handlers(),
    ):
        application.add_handler(grading_handler)
    application.add_handler(training_schedule.build())
    for reminder_handler in (*training.handlers(), *reminder_settings.handlers()):
        application.add_handler(reminder_handler)
    application.add_handler(CommandHandler("cancel", cancel.nothing_to_cancel))
    application.add_handler(MessageHandler(filters.COMMAND, common.unknown_command))
    application.add_handler(CallbackQueryHandler(common.stale_button))
    application.add_handler(MessageHandler(filters.ALL & ~filters.COMMAND, common.unexpected_input))
    application.add_handler(
        ChatMemberHandler(common.chat_member_changed, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_error_handler(common.error_handler)
    # Relink outcomes found by the leader's pocket-member check are told with this renderer.
    application.bot_data[RENDER_KEY] = relink_notices.render


def _add_meeting_buttons(application: ZhibuApp) -> None:
    """The buttons under meeting invitations and callers' cards; the reason for not attending
    and moving a meeting are short conversations of their own."""
    for handler in (*meetings.handlers(), *meeting_card.handlers()):
        application.add_handler(handler)
    application.add_handler(meeting_rsvp.build())
    application.add_handler(meeting_move.build())


async def _post_init(application: ZhibuApp) -> None:
    services: Services = application.bot_data[SERVICES_KEY]
    # Reminders go through the same gate as notices, on a Bot of their own (its own pool, and
    # no second turn at the gate from the rate limiter). Every process has the engine: a
    # handler may send reminders that just became due (tick_now).
    sender = sender_bot(services.settings)
    await sender.initialize()
    application.bot_data[SENDER_KEY] = sender
    application.bot_data[REMINDERS_KEY] = ReminderEngine(
        db=services.db,
        settings=services.settings,
        gate=application.bot_data[GATE_KEY],
        bot=sender,
        invitation_keyboard=training_buttons.invitation_keyboard,
        offer_keyboard=meeting_buttons.meeting_keyboard,
    )
    # Callers' cards are edited through the gate like a notice's progress.
    application.bot_data[CARDS_KEY] = MeetingCards(
        db=services.db,
        settings=services.settings,
        edit=gated_edit(sender, application.bot_data[GATE_KEY]),
        keyboard=meeting_buttons.card_keyboard,
    )
    if not application.bot_data[CLUSTER_KEY]:
        # The only process: it leads from start to stop.
        application.bot_data[METRICS_KEY].set_leader(True)
        await application.bot_data[LEADER_KEY].start()
        if services.settings.metrics_listen:
            server = ops_server(
                application.bot_data[METRICS_KEY],
                services.db,
                services.settings,
                services.settings.metrics_listen,
            )
            await server.start()
            application.bot_data[OPS_KEY] = server


async def _post_shutdown(application: ZhibuApp) -> None:
    server = application.bot_data.pop(OPS_KEY, None)
    if server is not None:
        await server.stop()
    await application.bot_data[LEADER_KEY].stop()
    sender = application.bot_data.pop(SENDER_KEY, None)
    if sender is not None:
        await sender.shutdown()
    gate = application.bot_data.get(GATE_KEY)
    if isinstance(gate, SharedGate):
        await gate.drain()
    close_shared_workers()
    for key in ("zhibu.engine", BOOK_KEY):
        engine = application.bot_data.get(key)
        if engine is not None:
            await engine.dispose()


def sender_bot(settings: Settings) -> Bot:
    """A Bot outside PTB's rate limiter, for callers that take their turn at the gate."""
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    return Bot(
        token,
        base_url=settings.bot_api_url,
        base_file_url=settings.file_url,
        request=AiohttpRequest(connection_pool_size=settings.delivery_concurrency + 4),
    )


async def set_command_menus(application: ZhibuApp) -> None:
    """Telegram's command menu in each language; a refusal is logged, never fatal."""
    settings: Settings = application.bot_data[SERVICES_KEY].settings
    for locale in SUPPORTED_LOCALES:
        tr = Translator(locale, settings.timezone)
        commands = [BotCommand(c.name, tr._(c.description)) for c in COMMANDS]
        language = "zh" if locale == "zh_Hans" else locale
        try:
            await application.bot.set_my_commands(commands, language_code=language)
            if locale == settings.default_locale:
                await application.bot.set_my_commands(commands)
        except TelegramError as exc:
            log.warning("setMyCommands for %s was refused: %s; carrying on", locale, exc)
