"""SQLAlchemy models: the organisation tree, people, accounts, roles, invites, audit log,
deletion requests."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from bot import clock
from bot.enums import CommitteePost, DeletionState, OrgKind, PersonStatus, Role

# Set before the first migration so every constraint has a predictable, portable name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """Current UTC time on the bot's clock (bot.clock), used as a column default."""
    return clock.now()


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as short strings with a CHECK rather than a PostgreSQL ENUM type, so adding a
    # value later is a plain migration on both databases.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda e: [m.value for m in e],
    )


PATH_TYPE = String(512).with_variant(String(512, collation="C"), "postgresql")


class OrgUnit(Base):
    """A node of the organisation tree."""

    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    kind: Mapped[OrgKind] = mapped_column(_enum(OrgKind, "org_kind"))
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    # Materialised path of ids ("/1/4/9/") so a subtree is one indexed range (storage.tree),
    # compared byte by byte whatever the server's locale (COLLATE "C" on PostgreSQL).
    path: Mapped[str] = mapped_column(PATH_TYPE, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[OrgUnit | None] = relationship(remote_side="OrgUnit.id")

    def display_name(self, locale: str) -> str:
        """The name in the reader's language, falling back to Chinese."""
        return self.name_en if locale == "en" and self.name_en else self.name


class Person(Base):
    """Someone on a roster (or an admin who belongs to no branch)."""

    __tablename__ = "people"
    __table_args__ = (Index("ix_people_branch_id_name", "branch_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    status: Mapped[PersonStatus] = mapped_column(
        _enum(PersonStatus, "person_status"), default=PersonStatus.REGULAR
    )
    joined_on: Mapped[dt.date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(32))
    # When the person came onto the roster; with added_by_invite, whether they may answer the
    # member survey of a campaign already running (bot.grading.surveys).
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Added by redeeming an invite that named nobody (not imported by the organisation).
    added_by_invite: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Removed from a branch's roster: the person stays (attendance and other records name
    # them), off every roster, with the branch they left.
    left_branch_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    left_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The party group of the branch the member belongs to, if the roster says.
    party_group_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))

    branch: Mapped[OrgUnit | None] = relationship(foreign_keys=[branch_id])


class Account(Base):
    """A Telegram account, linked to a person once registered."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), unique=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    telegram_language: Mapped[str | None] = mapped_column(String(16))
    username: Mapped[str | None] = mapped_column(String(64))
    unreachable_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When the person agreed to the privacy notice: no account exists before that (accounts
    # older than the notice have none).
    consented_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person | None] = relationship()


class RoleAssignment(Base):
    """A person's role at an organisation node."""

    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("person_id", "org_unit_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    # A branch committee member's post (organisation, propaganda ...), if known.
    post: Mapped[CommitteePost | None] = mapped_column(_enum(CommitteePost, "committee_post"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    org_unit: Mapped[OrgUnit] = relationship()


class Invite(Base):
    """An invite code; only its keyed hash is stored."""

    __tablename__ = "invites"
    __table_args__ = (CheckConstraint("uses <= max_uses", name="uses_within_max"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "invite_role"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # "hmac" (keyed with ZHIBU_SECRET_KEY), or "sha256" for codes created before keys were used:
    # those still work until they are used, revoked or expire (30 days at most, see migration
    # 20261204_access_privacy), and are re-keyed on first use.
    code_scheme: Mapped[str] = mapped_column(String(8), default="hmac")

    org_unit: Mapped[OrgUnit] = relationship()
    person: Mapped[Person | None] = relationship()


class InviteFailure(Base):
    """One wrong invite code (for slowing down guessing), deleted once out of the window.

    The sender is kept only as a keyed hash of their Telegram id: enough to count their
    attempts, not enough to tell from the database who tried.
    """

    __tablename__ = "invite_failures"
    __table_args__ = (Index("ix_invite_failures_sender_key_at", "sender_key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_key: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """One administrative action, kept forever."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    # "cli", "bot" or "system": who acted when there is no account.
    actor_label: Mapped[str] = mapped_column(String(32), default="bot")
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(BigInteger)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DeletionRequest(Base):
    """A person's request (/forgetme) to delete their data, confirmed or declined by an admin
    of their branch; confirmed, the person's records stay with their name and contacts erased."""

    __tablename__ = "deletion_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    # The node whose admins decide: the person's branch (or, for someone on no roster, the
    # node of one of their roles).
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    state: Mapped[DeletionState] = mapped_column(
        _enum(DeletionState, "deletion_state"), default=DeletionState.OPEN
    )
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))

    org_unit: Mapped[OrgUnit] = relationship()


class ConversationRecord(Base):
    """A conversation's state and its answers so far, written before the bot replies."""

    __tablename__ = "conversations"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    state: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The last updates applied to this draft: a redelivered one is recognised and ignored.
    # A list, not the highest id: Telegram's update ids restart after a quiet week.
    recent_updates: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The draft's message that still shows buttons, taken off when the conversation moves on
    # to a question that waits for typed text.
    keyboard_message_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
