"""A real headless browser for the sandbox page's tests: Debian's chromium, driven over raw
W3C WebDriver (HTTP to /usr/bin/chromedriver, from the test's own event loop).

Nothing is downloaded: `.ci/chromium` installs Debian's `chromium` and `chromium-driver` when
they are missing (the test command runs it). Waits are positive signals: a condition checked
in the page on every DOM change (a MutationObserver), never a sleep.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM = Path("/usr/bin/chromium")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
# The flags this machine needs (no sandbox as root, no GPU, nothing fetched in the background).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1600,1000",
    "--lang=zh-CN",
)
# Runs in the page: resolve with the condition's value once it holds, re-checked on every change.
_WAIT = """
const [body, args, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const check = new Function("args", body);
let observer = null;
const attempt = () => {
  let value = null;
  try { value = check(args); } catch (error) { value = null; }
  if (value) { if (observer) observer.disconnect(); done(value); return true; }
  return false;
};
if (!attempt()) {
  observer = new MutationObserver(attempt);
  const all = {subtree: true, childList: true, attributes: true, characterData: true};
  observer.observe(document, all);
}
"""


class WebDriverError(AssertionError):
    """The browser refused a command (or a wait ran out)."""


def browser_available() -> bool:
    """Whether Debian's chromium and its driver are installed."""
    return CHROMEDRIVER.exists() and CHROMIUM.exists()


def require_browser() -> None:
    """Skip when there is no browser, unless the test command demands one (it installs it)."""
    if browser_available():
        return
    if os.environ.get("ZHIBU_REQUIRE_BROWSER"):
        pytest.fail("chromium is missing: run `bash .ci/chromium` (the test command does)")
    pytest.skip("Debian's chromium and chromium-driver are not installed (bash .ci/chromium)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Browser:
    """One browser session."""

    def __init__(self, http: aiohttp.ClientSession, base: str, downloads: Path) -> None:
        self.http = http
        self.base = base
        self.downloads = downloads

    async def command(self, verb: str, path: str, body: Any = None) -> Any:
        """One WebDriver command; its value."""
        url = f"{self.base}{path}"
        async with self.http.request(verb, url, json=body) as response:
            payload = await response.json()
        value = payload.get("value")
        if response.status != 200:
            message = value.get("message", "") if isinstance(value, dict) else value
            raise WebDriverError(f"{verb} {path}: {message}")
        return value

    async def open(self, url: str) -> None:
        """Navigate and wait for the page to load."""
        await self.command("POST", "/url", {"url": url})

    async def script(self, body: str, *args: Any) -> Any:
        """Run JavaScript in the page (`return ...` gives a value; arguments[0...])."""
        return await self.command("POST", "/execute/sync", {"script": body, "args": list(args)})

    async def wait(self, condition: str, *args: Any, what: str = "") -> Any:
        """Until `condition` (a function body over `args`, returning a truthy value or an
        element) holds in the page; its value."""
        try:
            return await self.command(
                "POST", "/execute/async", {"script": _WAIT, "args": [condition, list(args)]}
            )
        except WebDriverError as error:
            text = await self.script("return document.body.innerText")
            raise WebDriverError(f"waiting for {what or condition}: {error}\n{text}") from None

    async def click(self, element: dict[str, str]) -> None:
        """A real click on an element (as returned by `wait` or `script`)."""
        await self.command("POST", f"/element/{element[ELEMENT]}/click", {})

    async def type(self, element: dict[str, str], text: str) -> None:
        """Type into an element (a file input takes a path)."""
        await self.command("POST", f"/element/{element[ELEMENT]}/value", {"text": text})

    async def screenshot(self, path: Path) -> None:
        """Save a PNG of the window."""
        data = await self.command("GET", "/screenshot")
        await asyncio.to_thread(path.write_bytes, base64.b64decode(data))


@asynccontextmanager
async def chromium(downloads: Path) -> AsyncIterator[Browser]:
    """A headless Chromium session with a fresh profile; downloads land in `downloads`."""
    port = _free_port()
    driver = await asyncio.create_subprocess_exec(
        str(CHROMEDRIVER),
        f"--port={port}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    profile = tempfile.mkdtemp(prefix="zhibu-chromium-")
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
    try:
        await _ready(http, port, driver)
        capabilities = {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": str(CHROMIUM),
                "args": [*FLAGS, f"--user-data-dir={profile}"],
                "prefs": {
                    "download.default_directory": str(downloads),
                    "download.prompt_for_download": False,
                },
            },
            "timeouts": {"script": 30_000, "pageLoad": 60_000},
        }
        session = await _post(
            http,
            f"http://127.0.0.1:{port}/session",
            {"capabilities": {"alwaysMatch": capabilities}},
        )
        base = f"http://127.0.0.1:{port}/session/{session['sessionId']}"
        browser = Browser(http, base, downloads)
        try:
            yield browser
        finally:
            async with http.delete(base):
                pass
    finally:
        await http.close()
        driver.terminate()
        await driver.wait()
        shutil.rmtree(profile, ignore_errors=True)


async def _post(http: aiohttp.ClientSession, url: str, body: Any) -> Any:
    async with http.post(url, json=body) as response:
        payload = await response.json()
    if response.status != 200:
        raise WebDriverError(f"POST {url}: {json.dumps(payload)[:500]}")
    return payload["value"]


async def _ready(
    http: aiohttp.ClientSession, port: int, driver: asyncio.subprocess.Process
) -> None:
    """Until chromedriver answers /status (it starts in well under a second)."""
    for _attempt in range(600):
        if driver.returncode is not None:
            raise WebDriverError(f"chromedriver exited with {driver.returncode}")
        try:
            async with http.get(f"http://127.0.0.1:{port}/status") as response:
                if (await response.json())["value"].get("ready"):
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise WebDriverError("chromedriver did not start")
