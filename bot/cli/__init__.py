"""The `zhibu` command: every administrative command, one parser per area.

    zhibu run | sandbox [--terminal]          serve Telegram, or try it offline
    zhibu clock [advance 1h|1d|next]          the offline sandbox's clock
    zhibu db upgrade | current                migrations
    zhibu org|people|register import FILE     imports, all or nothing
    zhibu invite create | list | revoke       invites
    zhibu people find | remove, role revoke, account unlink, deletion list|confirm|decline
    zhibu grading start                       a grading campaign
    zhibu rules set|show, terms set|show      calendar rules and branch terms
    zhibu dues import|payments FILE, dues day Party dues: standards, payments, collection day
    zhibu hours target|show                   yearly study targets of a subtree
    zhibu book --org CODE --year YEAR         record books (DOCX) of a branch or a subtree

Each area's module adds its sub-commands with `add_parsers(sub)`, each naming its handler
`handler(settings, args) -> exit code`; a `CommandError` ends the command with its message.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.cli import access, book, clock, data, dues, rules, serve
from bot.config import SettingsError, load_settings
from bot.errors import CommandError
from bot.logs import configure_logging


def build_parser() -> argparse.ArgumentParser:
    """Every sub-command."""
    parser = argparse.ArgumentParser(
        prog="zhibu", description="Zhibu, the Party branch assistant bot."
    )
    sub = parser.add_subparsers(dest="command")
    for area in (serve, clock, data, access, rules, dues, book):
        area.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and dispatch; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"zhibu: {exc}", file=sys.stderr)
        return 2
    secrets = [settings.bot_token, settings.webhook_secret, settings.secret_key]
    configure_logging(
        settings.log_level, [s.get_secret_value() for s in secrets if s], settings.log_format
    )
    handler = getattr(args, "handler", serve.run_command)
    try:
        return int(handler(settings, args))
    except CommandError as exc:
        print(f"zhibu: {exc}", file=sys.stderr)
        return 1
