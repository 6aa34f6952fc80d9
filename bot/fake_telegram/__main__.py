"""Run the fake Telegram server standalone: ``python -m bot.fake_telegram --port N [--flood]``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from bot.fake_telegram.server import FakeTelegramServer, FloodLimits


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.fake_telegram", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default="123456:TEST")
    parser.add_argument("--bot-username", default="zhibu_test_bot")
    parser.add_argument("--flood", action="store_true", help="enforce Telegram's flood limits")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    server = FakeTelegramServer(
        token=args.token,
        bot_username=args.bot_username,
        flood_limits=FloodLimits() if args.flood else None,
    )
    port = await server.start(args.host, args.port)
    # The bare port on stdout is the machine-readable contract for parent processes.
    print(port, flush=True)
    print(
        f"fake Telegram at {server.url} token={server.token} base_url={server.base_url}",
        file=sys.stderr,
        flush=True,
    )
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    try:
        await stopped.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGINT or SIGTERM."""
    args = _parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
