"""Named exceptions: each says what is wrong with which input, so the CLI can print one clear line."""

from __future__ import annotations


class CommuniqueError(Exception):
    """Base class for errors the CLI reports as a single line and a non-zero exit."""


class ConfigError(CommuniqueError):
    """The configuration file is missing, unreadable or has an invalid field."""


class MissingCredentials(CommuniqueError):
    """A command needs secrets (bot token, API id/hash) that the environment does not provide."""

    def __init__(self, missing: list[str], purpose: str) -> None:
        self.missing = missing
        super().__init__(
            f"{purpose} needs {', '.join(missing)} in the environment or in .env; "
            "see README.md, 'Going live'. Without credentials, try `communique demo`."
        )


class ImportFormatError(CommuniqueError):
    """An input file (export, JSON Lines, feed) cannot be read; nothing from it was stored."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class UsageError(CommuniqueError):
    """A command was given options that do not go together."""



class StoreUnavailable(CommuniqueError):
    """The SQLite store cannot be opened or written (missing folder, read-only file or folder, not a database)."""
