"""Notices from admins: the notice, its text per language, and one outbox row per recipient."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.enums import DeliveryState, MediaKind, NoticeAudience, NoticeState
from storage.models import Base, UTCDateTime, _enum, utcnow


class Notice(Base):
    """A notice an admin sends to part of their subtree, now or at a chosen time."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_state_send_at", "state", "send_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    audience: Mapped[NoticeAudience] = mapped_column(_enum(NoticeAudience, "notice_audience"))
    # Chosen branch ids when audience is "branches".
    branch_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    primary_locale: Mapped[str] = mapped_column(String(16))
    require_ack: Mapped[bool] = mapped_column(Boolean, default=False)
    media_kind: Mapped[MediaKind | None] = mapped_column(_enum(MediaKind, "notice_media"))
    media_file_id: Mapped[str | None] = mapped_column(String(256))
    state: Mapped[NoticeState] = mapped_column(
        _enum(NoticeState, "notice_state"), default=NoticeState.SCHEDULED
    )
    send_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The admin's confirmation message, edited with progress while the notice goes out.
    admin_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # While a started notice's audience is being written into the outbox (in account order, a
    # slice per transaction): the last account written; None once complete.
    fill_after: Mapped[int | None] = mapped_column(BigInteger)
    # How many rounds went out: 1, plus one per re-send to those who have not acknowledged.
    rounds: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    texts: Mapped[list[NoticeText]] = relationship(
        order_by="NoticeText.locale", cascade="all, delete-orphan", lazy="selectin"
    )

    def text_for(self, locale: str) -> str:
        """The text in the reader's language, else in the language it was written in."""
        by_locale = {t.locale: t.body for t in self.texts}
        return by_locale.get(locale) or by_locale.get(self.primary_locale) or ""


class NoticeText(Base):
    """The notice's text in one language, exactly as the admin wrote it."""

    __tablename__ = "notice_texts"

    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), primary_key=True)
    locale: Mapped[str] = mapped_column(String(16), primary_key=True)
    body: Mapped[str] = mapped_column(Text)


class NoticeDelivery(Base):
    """The outbox: one row per recipient and round, claimed and sent by bot.delivery."""

    __tablename__ = "notice_deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "account_id", "round"),
        # The claim's order (a notice's pending copies by id) and every per-state count; the
        # unique key above serves look-ups by notice and account.
        Index("ix_notice_deliveries_state_notice_id_id", "state", "notice_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign keys on the outbox: checking them was six sevenths of writing a province's
    # 4.5 million copies (three lookups per row). Every row is written by INSERT ... SELECT from
    # the notice being sent and the accounts and branches that statement reads, and none of
    # the three tables loses rows while a notice can go out (stray accounts are deleted only
    # when nothing refers to them: `info["references"]` keeps this table in that check).
    notice_id: Mapped[int] = mapped_column(Integer, info={"references": "notices.id"})
    account_id: Mapped[int] = mapped_column(Integer, info={"references": "accounts.id"})
    round: Mapped[int] = mapped_column(Integer, default=1)
    # The branch the recipient belonged to when the notice went out (for per-branch reports).
    branch_id: Mapped[int | None] = mapped_column(Integer, info={"references": "org_units.id"})
    state: Mapped[DeliveryState] = mapped_column(
        _enum(DeliveryState, "delivery_state"), default=DeliveryState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
