"""`zhibu clock`: read or move the running offline sandbox's clock from outside its process.

    zhibu clock                  the sandbox's time
    zhibu clock advance 1d       forward by 90m, 1h, 1d...; the bot sends what fell due, once
    zhibu clock advance next     to the next planned reminder

It calls the sandbox's HTTP endpoint (`POST /api/clock`), found in data/sandbox.json, which
the running sandbox writes. A bot serving Telegram keeps real time: there is no such endpoint,
and its clock cannot be moved.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.errors import CommandError

ADDRESS_FILE = Path("data") / "sandbox.json"


def add_parsers(sub: Any) -> None:
    """`clock` and `clock advance STEP`."""
    parser = sub.add_parser("clock", help="read or move the offline sandbox's clock")
    parser.add_argument("action", nargs="?", choices=("show", "advance"), default="show")
    parser.add_argument("step", nargs="?", help="90m, 1h, 1d ... or next (to the next reminder)")
    parser.add_argument("--url", help="the sandbox's address (default: from data/sandbox.json)")
    parser.set_defaults(handler=clock_command)


def clock_command(settings: Settings, args: argparse.Namespace) -> int:
    """Print the sandbox's clock, or move it forward."""
    url = args.url or _sandbox_url(settings)
    if args.action == "advance":
        if not args.step:
            raise CommandError("say how far: zhibu clock advance 1h (or 1d, 90m, next)")
        result = _call(f"{url}api/clock", {"advance": args.step})
        print(f"{result['local']} ({result['time_zone']}): {result['message']}")
    else:
        result = _call(f"{url}api/clock", None)
        ahead = int(result["offset_seconds"]) // 60
        print(f"{result['local']} ({result['time_zone']}), {ahead} minutes ahead of real time")
    return 0


def _sandbox_url(settings: Settings) -> str:
    try:
        found = json.loads(ADDRESS_FILE.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        if settings.bot_token is not None:
            raise CommandError(
                "this bot serves Telegram and keeps real time: its clock cannot be moved "
                "(only the offline sandbox's can)"
            ) from None
        raise CommandError(
            "no offline sandbox is running here (start one with `bash .ci/start` or "
            "`zhibu sandbox`)"
        ) from None
    url = str(found["url"])
    return url if url.endswith("/") else f"{url}/"


def _call(url: str, body: dict[str, str] | None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("X-Zhibu-Sandbox", "1")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            payload = json.loads(response.read())
    except urllib.error.HTTPError as error:
        payload = json.loads(error.read() or b"{}")
    except (urllib.error.URLError, OSError) as error:
        raise CommandError(f"the sandbox at {url} does not answer ({error})") from None
    if not payload.get("ok"):
        raise CommandError(str(payload.get("description", "the sandbox refused")))
    result: dict[str, Any] = payload["result"]
    return result
