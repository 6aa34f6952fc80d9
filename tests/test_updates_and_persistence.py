"""Per-chat ordering of updates, and conversation states stored in the database."""

import asyncio

from telegram import Chat, Message, Update, User

from bot.persistence import DatabasePersistence
from bot.updates import PerChatUpdateProcessor
from storage import queries
from storage.db import SessionFactory


def _update(update_id: int, chat_id: int) -> Update:
    user = User(chat_id, "U", is_bot=False)
    chat = Chat(chat_id, Chat.PRIVATE)
    return Update(update_id, message=Message(update_id, None, chat, from_user=user, text="x"))  # type: ignore[arg-type]


async def test_one_chat_in_order_different_chats_side_by_side() -> None:
    processor = PerChatUpdateProcessor(max_concurrent_updates=16)
    log: list[str] = []
    release_first = asyncio.Event()

    async def handle(name: str, wait: asyncio.Event | None = None) -> None:
        log.append(f"start {name}")
        if wait is not None:
            await wait.wait()
        log.append(f"end {name}")

    first = asyncio.create_task(
        processor.process_update(_update(1, 10), handle("a1", release_first))
    )
    second = asyncio.create_task(processor.process_update(_update(2, 10), handle("a2")))
    other = asyncio.create_task(processor.process_update(_update(3, 20), handle("b1")))
    await other  # another chat is not held up by chat 10's slow update
    assert "end b1" in log and "start a2" not in log
    release_first.set()
    await asyncio.gather(first, second)
    assert log.index("end a1") < log.index("start a2")
    assert processor._chats == {}  # nothing is kept for idle chats


async def test_persistence_reads_conversation_states_and_never_overwrites_a_draft(
    db: SessionFactory,
) -> None:
    persistence = DatabasePersistence(db)
    async with db.begin() as session:
        await queries.save_conversation(
            session,
            name="register",
            chat_id=5,
            user_id=5,
            state="phone",
            data={"name": "甲"},
            recent_updates=[9],
        )
    assert await persistence.get_conversations("register") == {(5, 5): "phone"}
    # PTB reports state changes from its periodic flush, possibly stale by then (another
    # process answered the next step, or ended the conversation): the draft stays the truth.
    await persistence.update_conversation("register", (5, 5), "name")
    await persistence.update_conversation("register", (6, 6), "name")
    async with db() as session:
        record = await queries.load_conversation(session, name="register", chat_id=5, user_id=5)
        assert record is not None and (record.state, record.data) == ("phone", {"name": "甲"})
    await persistence.update_conversation("register", (5, 5), None)
    assert await persistence.get_conversations("register") == {(5, 5): "phone"}


async def test_a_chats_waiting_updates_hold_no_processing_slot() -> None:
    processor = PerChatUpdateProcessor(max_concurrent_updates=2)
    release = asyncio.Event()
    done: list[str] = []

    async def handle(name: str, wait: asyncio.Event | None = None) -> None:
        if wait is not None:
            await wait.wait()
        done.append(name)

    # Chat 10's first update is stuck; four more of it queue behind it.
    stuck = [asyncio.create_task(processor.process_update(_update(1, 10), handle("a1", release)))]
    for n in range(2, 6):
        stuck.append(asyncio.create_task(processor.process_update(_update(n, 10), handle(f"a{n}"))))
    # Chat 20 still gets the second slot (before, chat 10's queue held both).
    await asyncio.wait_for(processor.process_update(_update(9, 20), handle("b1")), timeout=5)
    assert done == ["b1"]
    release.set()
    await asyncio.gather(*stuck)
    assert done == ["b1", "a1", "a2", "a3", "a4", "a5"]


async def test_a_chats_backlog_is_capped_and_the_chat_asked_once_to_slow_down() -> None:
    told: list[int] = []

    async def slow_down(update: Update) -> None:
        told.append(update.update_id)

    processor = PerChatUpdateProcessor(backlog=3, on_overflow=slow_down)
    finished: list[int] = []
    processor.observe(lambda update: finished.append(update.update_id))  # type: ignore[attr-defined]
    release = asyncio.Event()
    handled: list[int] = []

    async def handle(n: int, wait: asyncio.Event | None = None) -> None:
        if wait is not None:
            await wait.wait()
        handled.append(n)

    tasks = [asyncio.create_task(processor.process_update(_update(1, 10), handle(1, release)))]
    tasks += [
        asyncio.create_task(processor.process_update(_update(n, 10), handle(n)))
        for n in range(2, 11)
    ]
    # The three that fit wait; the seven beyond are dropped at once, and the chat told once.
    await asyncio.gather(*tasks[3:])
    assert told == [4] and handled == []
    release.set()
    await asyncio.gather(*tasks[:3])
    assert handled == [1, 2, 3]
    assert sorted(finished) == list(range(1, 11))
    # Once its backlog has drained, a chat that floods again is told again.
    release.clear()
    again = [
        asyncio.create_task(processor.process_update(_update(n, 10), handle(n, release)))
        for n in range(11, 16)
    ]
    await asyncio.gather(*again[3:])
    assert told == [4, 14]
    release.set()
    await asyncio.gather(*again)
    assert processor._chats == {}
