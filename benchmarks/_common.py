"""Shared pieces of the benchmarks: child processes for the fake server and the bots."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:TEST"
# The code of this checkout, not whichever one the virtualenv's editable install points at.
sys.path.insert(0, str(ROOT))


def start_fake_server(*, flood: bool = False) -> tuple[subprocess.Popen[str], int]:
    """The fake Bot API in its own process (so it doesn't share a core with the bot)."""
    args = [sys.executable, "-m", "bot.fake_telegram", "--port", "0", "--token", TOKEN]
    if flood:
        args.append("--flood")
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, port


def start_python(code: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Run a snippet of Python in a child process in the repository."""
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=full_env)


def stop(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """Terminate a child and wait for it."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def median(values: list[float]) -> float:
    """Median of several runs (the machine is noisy)."""
    return statistics.median(values)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[index]
