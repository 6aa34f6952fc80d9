"""The sandbox's terminal chat: every chat's messages with the person's name, alerts printed,
photos and files saved with their path, `#N` for the buttons of any recent message."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.sandbox.terminal import TerminalChat, _report_processing
from tests.support.sandbox import running_sandbox

pytestmark = pytest.mark.slow


async def test_the_terminal_shows_every_chat_and_presses_any_recent_button(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    async with running_sandbox(database_url) as running:
        sandbox = running.sandbox
        _report_processing(sandbox.application, sandbox)
        chat = TerminalChat(sandbox)
        with sandbox.server.listen() as queue:
            chat.queue = queue
            printer = asyncio.create_task(chat.print_events())
            try:
                chat.act_as(1)  # 王芳, a secretary
                await chat.handle("/lang")
                await chat.handle("/log")
                await chat.handle("/cancel")
                chat.act_as(0)  # 林书记, the admin
                await chat.handle("/report compliance")
                # #2 is 王芳's "English" from before the admin's report: pressed as her.
                await chat.handle("#2")
                # #3 is the first kind of her /log question, which /cancel ended.
                await chat.handle("#3")
            finally:
                printer.cancel()
    out = capsys.readouterr().out
    assert "[王芳] bot> 请选择语言：" in out
    assert "[#1 中文（简体）]  [#2 English]" in out
    assert "[林书记] bot> " in out
    assert "(pressed as 王芳)" in out
    assert "[王芳] bot> (edited) Done. I will write to you in English from now on." in out
    assert "[王芳] alert: This button is no longer active." in out
    saved = sorted((tmp_path / "data" / "sandbox-files").iterdir())
    assert [path.suffix for path in saved] == [".png", ".xlsx"]
    for path in saved:
        assert f"saved to {path.relative_to(tmp_path)}" in out
        assert path.stat().st_size > 100
    # The bot's logs went to data/sandbox.log (the CLI sets that up), not into the chat.
    assert " INFO " not in out and "Traceback" not in out
