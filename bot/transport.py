"""The bot's HTTP backend for the Bot API, and what a failed send means.

PTB's default backend (httpx) costs about 0.8 ms of CPU per call on this project's machines,
most of it in httpx/httpcore's pure-Python connection handling. At the paid broadcast limit
(1,000 messages a second) that alone is most of a core, and it halved the interactive
throughput. So the bot talks to the Bot API through aiohttp (C-accelerated HTTP parsing,
keep-alive pool), about 0.3 ms a call, behind PTB's own `BaseRequest` hook: everything above it
(parameters, errors, the rate-limiter hook, long polling) stays PTB's.

Whether a failed call may still have reached Telegram decides between sending the copy again
and counting it as delivered, so the backend says it precisely: `NotSent` when the request
cannot have left (no connection could be made or taken from the pool), `TimedOut` or
`MaybeSent` when it may have.
"""

from __future__ import annotations

import enum
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class NotSent(NetworkError):
    """The request never left this process: sending it again cannot make a duplicate."""


class MaybeSent(NetworkError):
    """The connection failed after the request may have left: it may have been delivered."""


class SendFailure(enum.Enum):
    """What a network failure means for a copy that was being sent."""

    NOT_SENT = "not sent"  # safe to send again
    MAYBE_SENT = "maybe sent"  # count it as delivered: never send twice


def classify_network_error(error: NetworkError) -> SendFailure:
    """MAYBE_SENT when the request may have reached Telegram without an answer coming back."""
    if isinstance(error, NotSent):
        return SendFailure.NOT_SENT
    if isinstance(error, TimedOut):
        # PTB's default backend says so when no pooled connection was free: never sent.
        if error.message.startswith("Pool timeout"):
            return SendFailure.NOT_SENT
        return SendFailure.MAYBE_SENT
    if isinstance(error, MaybeSent):
        return SendFailure.MAYBE_SENT
    if error.message.startswith("httpx."):  # PTB's default backend
        return SendFailure.NOT_SENT if "ConnectError" in error.message else SendFailure.MAYBE_SENT
    # Telegram answered with a server error (5xx): nothing was delivered.
    return SendFailure.NOT_SENT


class AiohttpRequest(BaseRequest):
    """A PTB request backend on an aiohttp keep-alive pool."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 16,
        read_timeout: float | None = 10.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 30.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        """The read timeout used when a call does not give one."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the connection pool (idempotent)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def shutdown(self) -> None:
        """Close the pool (idempotent)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One HTTP call; PTB turns the status and body into a result or a TelegramError.

        aiohttp has no separate write timeout; the worker sends text and file ids, not uploads.
        """
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        timeout = aiohttp.ClientTimeout(
            # aiohttp's `connect` covers waiting for a pooled connection and opening one;
            # `sock_connect` the TCP (and TLS) handshake alone.
            connect=self._given(pool_timeout, self._pool_timeout),
            sock_connect=self._given(connect_timeout, self._connect_timeout),
            sock_read=self._given(read_timeout, self._read_timeout),
        )
        data: Any = None
        if request_data is not None:
            if request_data.contains_files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, part in request_data.multipart_data.items():
                    filename, content, *mime = part
                    form.add_field(
                        name, content, filename=filename, content_type=mime[0] if mime else None
                    )
                data = form
            else:
                data = request_data.json_parameters
        try:
            async with session.request(
                method, url, data=data, timeout=timeout, proxy=self._proxy_for(url)
            ) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise NotSent(
                "Pool timeout: no connection could be had in time; the request was not sent"
            ) from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise TimedOut from exc
        except aiohttp.ClientConnectorError as exc:
            raise NotSent(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise MaybeSent(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    def _proxy_for(self, url: str) -> str | None:
        """HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as PTB's default backend honours them: where
        api.telegram.org is not reachable directly, the bot goes through a proxy.

        Read once per host, not per call: aiohttp's trust_env looks them up (and ~/.netrc) on
        every request, which cost 7 % of a paid broadcast's rate.
        """
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxies:
            bypass = bool(urllib.request.proxy_bypass(key[1])) if key[1] else True
            self._proxies[key] = None if bypass else urllib.request.getproxies().get(key[0])
        return self._proxies[key]

    @staticmethod
    def _given(value: Any, default: float | None) -> float | None:
        return default if value is BaseRequest.DEFAULT_NONE else value
