"""`zhibu` without a token says so and starts the offline sandbox."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import database
from tests.support.bot import ROOT

pytestmark = pytest.mark.slow


@pytest.mark.skipif(
    database.BACKEND == "postgresql",
    reason="the sandbox process keeps its own SQLite file: the PostgreSQL pass would repeat it",
)
def test_no_token_starts_the_sandbox_and_plays_a_conversation(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        # The terminal chat; without --terminal the sandbox serves its web page (test_sandbox_page).
        [sys.executable, "-m", "bot", "run", "--terminal"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "No ZHIBU_BOT_TOKEN is set" in out
    assert "Offline sandbox ready" in out
    assert "欢迎回来，王芳" in out  # the demo secretary is greeted by the real bot
    # Buttons are listed with numbers to press. The numbers run on over the chat's messages,
    # and the demo's meeting invitations may come before the language menu or after it.
    assert re.search(r"\[#\d+ English\]", out), out
    assert (tmp_path / "data" / "sandbox.sqlite3").exists()
    # Every chat's messages carry the person's name; the logs went to a file, not the chat.
    assert "[王芳] bot> 欢迎回来，王芳" in out
    assert result.stderr == ""
    assert " INFO " not in out
    assert "Application started" in (tmp_path / "data" / "sandbox.log").read_text()


def test_bad_setting_is_named_and_stops(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
    env.update(PYTHONPATH=str(ROOT), ZHIBU_TIMEZONE="Nowhere/Land")
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "ZHIBU_TIMEZONE" in result.stderr
