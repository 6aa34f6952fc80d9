"""Tables of the several-process deployment on PostgreSQL: the update inbox, chat claims, the
leader's lease and the shared Telegram send budget.

Leases are compared with the database's clock, never a process's own, so processes on hosts
whose clocks disagree still agree on who holds what. On SQLite (one process) the tables exist
but stay empty.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, text
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
    # When the chat may next get a message (Telegram's one a second per chat), handed from
    # process to process with the claim.
    next_send_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Leadership(Base):
    """The process that runs the periodic jobs, for as long as it renews its lease."""

    __tablename__ = "leadership"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(96))
    lease_until: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SendBudget(Base):
    """A token bucket shared by every process: Telegram's limits hold for the bot as a whole."""

    __tablename__ = "send_budget"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
