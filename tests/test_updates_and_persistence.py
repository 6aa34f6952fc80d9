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
    assert processor._locks == {}  # nothing is kept for idle chats


async def test_persistence_reads_and_writes_conversation_states(db: SessionFactory) -> None:
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
    await persistence.update_conversation("register", (5, 5), "name")
    async with db() as session:
        record = await queries.load_conversation(session, name="register", chat_id=5, user_id=5)
        assert record is not None and (record.state, record.data) == ("name", {"name": "甲"})
    await persistence.update_conversation("register", (5, 5), None)
    assert await persistence.get_conversations("register") == {}
