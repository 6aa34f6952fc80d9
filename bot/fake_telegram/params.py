"""A Bot API request's parameters, read by type as Telegram reads them."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import tornado.httputil

from bot.fake_telegram.api import JSON, bad_request


@dataclasses.dataclass
class UploadedFile:
    """A file sent in a multipart request."""

    filename: str
    data: bytes
    content_type: str


class Params:
    """Request parameters from a JSON, urlencoded or multipart body, read by type as Telegram does.

    Form bodies carry every value as a string (PTB JSON-encodes nested objects inside form
    fields), while JSON bodies carry native values; the accessors accept both.
    """

    def __init__(self, values: JSON, files: dict[str, UploadedFile] | None = None) -> None:
        self.values = values
        self.files = files or {}

    def raw(self, name: str) -> Any:
        """Return the value as received, or None."""
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        """Return a string parameter."""
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return value
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value)

    def integer(self, name: str) -> int | None:
        """Return an integer parameter; a malformed one is a Bad Request."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            return int(value)
        raise bad_request(f"invalid {name} specified")

    def number(self, name: str) -> float | None:
        """Return a numeric parameter (timeouts may be fractional)."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        """Return a boolean parameter, false when absent."""
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def obj(self, name: str, what: str | None = None) -> Any:
        """Return a JSON-object parameter, decoding it when it came JSON-encoded in a form field."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {what or name} JSON object") from None
        return value

    def file(self, name: str) -> UploadedFile | str | None:
        """Return an uploaded file (directly or via attach://) or a file_id/URL string."""
        if name in self.files:
            return self.files[name]
        value = self.text(name)
        if value and value.startswith("attach://"):
            attached = self.files.get(value.removeprefix("attach://"))
            if attached is None:
                raise bad_request(f"file {value} not found in the request")
            return attached
        return value or None


def read_params(request: tornado.httputil.HTTPServerRequest) -> Params:
    """The parameters of a Bot API request: query, form, JSON body and uploaded files."""
    values: JSON = {}
    for arguments in (request.query_arguments, request.body_arguments):
        for name, raw in arguments.items():
            values[name] = raw[-1].decode("utf-8", errors="replace")
    content_type = request.headers.get("Content-Type", "")
    if content_type.startswith("application/json") and request.body:
        try:
            body = json.loads(request.body)
        except ValueError:
            raise bad_request("can't parse JSON encoded request body") from None
        if not isinstance(body, dict):
            raise bad_request("JSON object expected in the request body")
        values.update(body)
    files = {
        name: UploadedFile(uploads[-1].filename, uploads[-1].body, uploads[-1].content_type)
        for name, uploads in request.files.items()
    }
    return Params(values, files)
