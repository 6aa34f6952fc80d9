"""Tables of the several-process deployment on PostgreSQL: the update inbox, chat claims, the
leader's lease and the send slots that keep Telegram's limits across processes.

Leases are compared with the database's clock, never a process's own, so processes on hosts
whose clocks disagree still agree on who holds what. On SQLite (one process) the tables exist
but stay empty.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, UTCDateTime, utcnow


class InboxUpdate(Base):
    """An update from Telegram, stored once (by its id) before anything handles it."""

    __tablename__ = "inbox"
    __table_args__ = (
        # Workers look for a chat's unhandled updates, oldest first.
        Index(
            "ix_inbox_pending_chat_id_update_id",
            "chat_id",
            "update_id",
            postgresql_where=text("handled_at IS NULL"),
            sqlite_where=text("handled_at IS NULL"),
        ),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # The chat whose updates are handled in order (the user's id for updates without a chat).
    chat_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Handled again after a worker died: more than a few attempts means the update kills its
    # worker, and it is set aside instead of taking down one process after another.
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class ChatClaim(Base):
    """Which process handles a chat's updates now; the lease frees it if that process dies."""

    __tablename__ = "chat_claims"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    owner: Mapped[str] = mapped_column(String(96))
    lease_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # When the chat may next get a message: a second after its last one was answered (Telegram's
    # one a second per chat), or the lease of a send in flight; whichever process sends.
    next_send_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Leadership(Base):
    """The process that runs the periodic jobs, for as long as it renews its lease."""

    __tablename__ = "leadership"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(96))
    lease_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SendSlot(Base):
    """One of the sends Telegram allows a second (per lane), shared by every process.

    A send holds a slot from before its call until a second after the answer (`free_at`), so
    no one-second window, as Telegram counts it, ever holds more sends than there are slots,
    however long a call takes. While the call is in flight `free_at` is its lease: a process
    that dies mid-call frees its slots when the lease ends.
    """

    __tablename__ = "send_slots"

    lane: Mapped[str] = mapped_column(String(16), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    free_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
