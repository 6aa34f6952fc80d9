"""The `zhibu` command line: invites, database commands, readable errors."""

import asyncio

import pytest
from sqlalchemy import select

from bot.__main__ import main
from bot.enums import Role
from bot.invites import hash_code
from storage.db import create_engine, session_factory
from storage.migrate import code_heads
from storage.models import Invite
from tests.support.database import stamp


def _org(tmp_path) -> str:
    path = tmp_path / "org.csv"
    path.write_text(
        "code,parent,kind,name,name_en\nC1,,committee,街道党工委,Street Committee\n"
        "B1,C1,branch,第一支部,First Branch\n",
        encoding="utf-8",
    )
    return str(path)


def test_first_admin_invite(
    cli_env: str,
    tmp_path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ZHIBU_BOT_USERNAME", "zhibu_bot")
    assert main(["org", "import", _org(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["invite", "create", "--role", "admin", "--org", "C1", "--expires", "3d"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    code = lines[0].removeprefix("invite code: ")
    assert lines[-1] == f"https://t.me/zhibu_bot?start={code}"


def test_invite_stored_hashed(cli_env: str, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["org", "import", _org(tmp_path)]) == 0
    assert main(["invite", "create", "--role", "member", "--org", "B1", "--uses", "20"]) == 0
    code = capsys.readouterr().out.split("invite code: ")[1].split()[0]

    async def stored() -> Invite | None:
        engine = create_engine(cli_env)
        async with session_factory(engine)() as session:
            found = await session.scalar(select(Invite))
        await engine.dispose()
        return found

    # main() runs its own event loop, so this test is synchronous too.
    invite = asyncio.run(stored())
    assert invite is not None and invite.code_hash == hash_code(code)
    assert (invite.role, invite.max_uses) == (Role.MEMBER, 20)


def test_cli_errors_are_sentences(
    cli_env: str, tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["org", "import", _org(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["invite", "create", "--role", "secretary", "--org", "C1"]) == 1
    assert "must name a branch" in capsys.readouterr().err
    assert main(["invite", "create", "--role", "member", "--org", "NOPE"]) == 1
    assert "no organisation node with code 'NOPE'" in capsys.readouterr().err
    assert main(["invite", "create", "--role", "member", "--org", "B1", "--expires", "soon"]) == 1
    assert "not a duration" in capsys.readouterr().err
    assert main(["invite", "create", "--role", "member", "--org", "B1", "--person", "无名"]) == 1
    assert "no person named" in capsys.readouterr().err


def test_db_current_and_upgrade(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert "database is at" in capsys.readouterr().out
    assert main(["db", "current"]) == 0
    out = capsys.readouterr().out
    database, code = out.split(";")
    assert database.removeprefix("database: ").strip() == code.removeprefix(" code: ").strip()


def test_refuses_a_database_newer_than_the_code(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(stamp(cli_env, {"29990101_from_the_future"}))
    try:
        assert main(["db", "upgrade"]) == 1
    finally:
        # PostgreSQL's test database is shared by the run: put the real revisions back.
        asyncio.run(stamp(cli_env, code_heads()))
    err = capsys.readouterr().err
    assert "upgraded by a newer version of Zhibu" in err and "29990101_from_the_future" in err
