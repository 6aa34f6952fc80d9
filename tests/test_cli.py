"""The `zhibu` command line: invites, taking access away, rules and terms, database commands."""

import asyncio
import io
import os
import stat

import pytest
from sqlalchemy import select

from bot.__main__ import main
from bot.config import Settings, SettingsError, with_secret_key
from bot.demo import DemoUser
from bot.enums import Role
from bot.invites import hash_code
from storage import queries
from storage.db import SessionFactory, create_engine, session_factory
from storage.migrate import code_heads
from storage.models import Invite, Person, RoleAssignment
from tests.support.bot import SECRET_KEY
from tests.support.database import stamp


def _org(tmp_path) -> str:
    path = tmp_path / "org.csv"
    path.write_text(
        "code,parent,kind,name,name_en\nC1,,committee,街道党工委,Street Committee\n"
        "B1,C1,branch,第一支部,First Branch\n",
        encoding="utf-8",
    )
    return str(path)


async def _zhibu(*argv: str) -> int:
    # main() runs its own event loop; keep it off the test's loop.
    return await asyncio.to_thread(main, list(argv))


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
    assert invite is not None and invite.code_hash == hash_code(code, SECRET_KEY.encode())
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


def test_invites_are_capped(
    cli_env: str, tmp_path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["org", "import", _org(tmp_path)]) == 0
    capsys.readouterr()
    create = ["invite", "create", "--role", "member", "--org", "B1"]
    assert main([*create, "--expires", "31d"]) == 1
    assert "at most 30 days" in capsys.readouterr().err
    assert main([*create, "--expires", "9999d"]) == 1
    assert main([*create, "--uses", "101"]) == 1
    assert "between 1 and 100" in capsys.readouterr().err
    monkeypatch.setenv("ZHIBU_INVITE_MAX_DAYS", "90")
    monkeypatch.setenv("ZHIBU_INVITE_MAX_USES", "500")
    assert main([*create, "--expires", "60d", "--uses", "300"]) == 0


def test_the_key_is_required_with_a_token_and_generated_without(
    cli_env: str, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ZHIBU_SECRET_KEY")
    with pytest.raises(SettingsError, match="ZHIBU_SECRET_KEY is required"):
        with_secret_key(Settings(bot_token="1:X"), tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 32"):
        Settings(secret_key="short")  # type: ignore[arg-type]
    generated = with_secret_key(Settings(), tmp_path / "data")
    key_file = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert generated.secret_key is not None
    assert len(generated.secret_key.get_secret_value()) == 64
    # The sandbox keeps its key: invites made in one session still work in the next.
    assert with_secret_key(Settings(), tmp_path / "data").secret_key == generated.secret_key
    monkeypatch.setenv("ZHIBU_BOT_TOKEN", "1:X")
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 1
    assert "ZHIBU_SECRET_KEY is required with ZHIBU_BOT_TOKEN" in capsys.readouterr().err


async def test_list_and_withdraw_invites(
    cli_env: str, db: SessionFactory, demo: dict[str, DemoUser], capsys: pytest.CaptureFixture[str]
) -> None:
    assert await _zhibu("invite", "create", "--role", "member", "--org", "DEMO-B1") == 0
    assert await _zhibu("invite", "create", "--role", "deputy", "--org", "DEMO-B2") == 0
    capsys.readouterr()
    assert await _zhibu("invite", "list", "--org", "DEMO-B1") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "member of DEMO-B1" in lines[0]
    invite_id = lines[0].split("\t")[0]
    assert await _zhibu("invite", "revoke", invite_id, "--yes") == 0
    assert "withdrawn" in capsys.readouterr().out
    assert await _zhibu("invite", "list") == 0
    out = capsys.readouterr().out
    assert "DEMO-B1" not in out and "deputy of DEMO-B2" in out
    assert await _zhibu("invite", "revoke", invite_id, "--yes") == 1
    assert "already withdrawn" in capsys.readouterr().err
    async with db() as session:
        entries = await queries.audit_entries(session, action="invite.revoke")
    assert [(str(e.target_id), e.actor_label) for e in entries] == [(invite_id, "cli")]


async def _person_id(db: SessionFactory, name: str) -> int:
    async with db() as session:
        person_id = await session.scalar(select(Person.id).where(Person.name == name))
    assert person_id is not None
    return person_id


async def test_take_back_a_role_unlink_and_remove_from_the_command_line(
    cli_env: str,
    db: SessionFactory,
    demo: dict[str, DemoUser],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert await _zhibu("people", "find", "王") == 0
    line = capsys.readouterr().out.strip()
    wang = await _person_id(db, "王芳")
    assert line == f"{wang}\t王芳\tDEMO-B1\tsecretary@DEMO-B1\taccount linked"

    # Asked first: anything but yes changes nothing.
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    revoke = ["role", "revoke", "--person", str(wang), "--role", "secretary", "--org", "DEMO-B1"]
    assert await _zhibu(*revoke) == 1
    captured = capsys.readouterr()
    assert "about to take back the role secretary of DEMO-B1 from 王芳" in captured.out
    assert "nothing was changed" in captured.err
    async with db() as session:
        assert await session.scalar(select(RoleAssignment).where(RoleAssignment.person_id == wang))
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert await _zhibu(*revoke) == 0
    assert await _zhibu(*revoke, "--yes") == 1
    assert "is not secretary of DEMO-B1" in capsys.readouterr().err

    li = await _person_id(db, "李强")
    assert await _zhibu("account", "unlink", "--person", str(li), "--yes") == 0
    assert await _zhibu("people", "remove", "--person", str(li), "--yes") == 0
    assert await _zhibu("people", "remove", "--person", "999999", "--yes") == 1
    async with db() as session:
        assert (
            await session.scalar(select(RoleAssignment).where(RoleAssignment.person_id == wang))
            is None
        )
        account = await queries.account_by_telegram_id(session, demo["李强"].telegram_id)
        assert account is not None and account.person_id is None
        li_row = await session.get(Person, li)
        assert li_row is not None and li_row.branch_id is None and li_row.left_branch_id is not None
        actions = [(e.action, e.actor_label) for e in await queries.audit_entries(session)]
    assert actions == [
        ("role.revoke", "cli"),
        ("account.unlink", "cli"),
        ("person.remove", "cli"),
    ]


async def test_rules_and_terms_are_zhibu_commands(
    cli_env: str, demo: dict[str, DemoUser], capsys: pytest.CaptureFixture[str]
) -> None:
    rules = ["rules", "set", "--org", "DEMO", "--rule", "lecture", "--period", "half"]
    assert await _zhibu(*rules) == 0
    assert "lecture: 1 per half" in capsys.readouterr().out
    assert await _zhibu("rules", "show", "--org", "NOPE") == 1
    terms = ["terms", "set", "--org", "DEMO-B1", "--started", "2024-01-31"]
    assert await _zhibu(*terms, "--category", "village") == 0
    assert "term of 5 years from 2024-01-31, ends 2029-01-31" in capsys.readouterr().out


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


async def test_deletion_requests_from_the_command_line(
    cli_env: str, db: SessionFactory, demo: dict[str, DemoUser], capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.enums import DeletionState
    from storage.models import DeletionRequest

    li = await _person_id(db, "李强")
    async with db.begin() as session:
        branch = await queries.org_by_code(session, "DEMO-B1")
        assert branch is not None
        session.add(DeletionRequest(person_id=li, org_unit_id=branch.id))
    assert await _zhibu("deletion", "list") == 0
    line = capsys.readouterr().out.strip()
    assert f"李强 (person {li})" in line
    request_id = line.split("\t")[0]
    assert await _zhibu("deletion", "confirm", request_id, "--yes") == 0
    assert await _zhibu("deletion", "decline", request_id, "--yes") == 1
    assert "already decided" in capsys.readouterr().err
    async with db() as session:
        person = await session.get(Person, li)
        assert person is not None and person.name == f"#{li}"
        request = await session.scalar(select(DeletionRequest))
        assert request is not None and request.state is DeletionState.DONE
