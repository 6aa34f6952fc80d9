"""Backups that lose nothing: a consistent copy taken while the bot runs, and a checked restore.

SQLite: the online backup API copies the database page by page inside one read transaction, so
the copy is the database as it was at one moment even while the bot writes (WAL mode lets the
writers go on). PostgreSQL: `pg_dump` in its custom format runs in one repeatable-read
snapshot, likewise consistent; `pg_restore` reads it back. Before restoring, the copy's schema
revision is read and a copy made by a newer version of Zhibu is refused: the code would
misread it. An older copy is restored as it is, and migrated by the next `zhibu db upgrade`
(which the bot also runs at start-up).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from alembic.script import ScriptDirectory

from storage.migrate import alembic_config

SQLITE_PREFIX = "sqlite+aiosqlite:///"
POSTGRES_PREFIX = "postgresql+asyncpg://"
# Pages copied per step of SQLite's online backup: small steps let the bot's writers in.
_PAGES_PER_STEP = 1024


class BackupError(Exception):
    """A backup or restore could not be done; the message says why and what to do."""


def backup(url: str, target: Path) -> None:
    """Write a consistent copy of the database at url to target (a new file)."""
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name")
    if url.startswith(SQLITE_PREFIX):
        _backup_sqlite(_sqlite_path(url), target)
    elif url.startswith(POSTGRES_PREFIX):
        dsn, env = _libpq(url)
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", dsn], env)
    else:
        raise BackupError(f"cannot back up {url.split(':', 1)[0]} databases")
    target.chmod(0o600)


def restore(url: str, source: Path) -> set[str]:
    """Replace the database at url with the copy in source; returns the copy's revisions.

    The bot must not be running on this database meanwhile.
    """
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    if url.startswith(SQLITE_PREFIX):
        revisions = _sqlite_revisions(source)
        _check_known(revisions)
        _restore_sqlite(source, _sqlite_path(url))
    elif url.startswith(POSTGRES_PREFIX):
        revisions = _dump_revisions(source)
        _check_known(revisions)
        dsn, env = _libpq(url)
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={dsn}",
                str(source),
            ],
            env,
        )
    else:
        raise BackupError(f"cannot restore {url.split(':', 1)[0]} databases")
    return revisions


def _sqlite_path(url: str) -> Path:
    return Path(url[len(SQLITE_PREFIX) :])


def _backup_sqlite(database: Path, target: Path) -> None:
    if not database.is_file():
        raise BackupError(f"there is no database at {database}")
    # The copy is written next to the target and renamed, so a crash never leaves half a file.
    partial = target.with_name(target.name + ".partial")
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy, pages=_PAGES_PER_STEP)
    finally:
        copy.close()
        source.close()
    partial.chmod(0o600)
    os.replace(partial, target)


def _restore_sqlite(source: Path, database: Path) -> None:
    database.parent.mkdir(parents=True, exist_ok=True)
    # Copy through SQLite too (not a file copy), then swap it in with the WAL files removed:
    # leftover -wal/-shm of the replaced database would be applied to the restored one.
    with tempfile.TemporaryDirectory(dir=database.parent) as scratch:
        staged = Path(scratch) / "restored.sqlite3"
        _backup_sqlite(source, staged)
        for suffix in ("-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        os.replace(staged, database)


def _sqlite_revisions(path: Path) -> set[str]:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a Zhibu SQLite backup ({exc})") from None
    return {row[0] for row in rows}


def _dump_revisions(path: Path) -> set[str]:
    """The alembic_version rows inside a pg_dump custom-format file."""
    listing = _run(["pg_restore", "--data-only", "--table=alembic_version", "--file=-", str(path)])
    revisions: set[str] = set()
    copying = False
    for line in listing.splitlines():
        if line.startswith("COPY ") and "alembic_version" in line:
            copying = True
        elif copying and line == "\\.":
            copying = False
        elif copying and line:
            revisions.add(line.strip())
    if not revisions:
        raise BackupError(f"{path} holds no Zhibu schema revision: not a Zhibu backup")
    return revisions


def _check_known(revisions: set[str]) -> None:
    if not revisions:
        raise BackupError("the copy holds no schema revision: not a Zhibu backup")
    script = ScriptDirectory.from_config(alembic_config(""))
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = revisions - known
    if unknown:
        raise BackupError(
            "the copy was made by a newer version of Zhibu (revision "
            f"{', '.join(sorted(unknown))}); restore it with that version"
        )


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq connection string of a SQLAlchemy asyncpg URL, and the environment that
    carries its password (kept off the command line, where `ps` would show it)."""
    parts = urlsplit(url.replace(POSTGRES_PREFIX, "postgresql://", 1))
    env = dict(os.environ)
    if parts.password is None:
        return parts.geturl(), env
    env["PGPASSWORD"] = unquote(parts.password)
    host = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}@" if parts.username else ""
    return f"postgresql://{user}{host}{parts.path}", env


def _run(command: list[str], env: dict[str, str] | None = None) -> str:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)")
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()}")
    return result.stdout
