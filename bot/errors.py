"""Errors that end an action with a message instead of a traceback."""


class CommandError(Exception):
    """A mistake the person at the terminal can fix (bad argument, unknown code...)."""


class Refused(Exception):
    """Raised inside a handler or step: the action is outside the sender's role or scope (or its
    button was forged). The transaction is rolled back and the sender gets a short refusal."""

    def __init__(self, text: str | None = None) -> None:
        super().__init__(text or "refused")
        self.text = text
