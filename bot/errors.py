"""Errors that end a command-line action with a message instead of a traceback."""


class CommandError(Exception):
    """A mistake the person at the terminal can fix (bad argument, unknown code...)."""
