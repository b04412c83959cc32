"""Errors a user can cause, reported as one clear line by the CLI."""


class SibkitError(Exception):
    """A problem with the user's input or environment: what, where, and what to do."""


class DataSourceError(SibkitError):
    """A dataset source that cannot be read at all."""


class NotFound(SibkitError):
    """A thing asked for by its id that the study does not hold (the web answers 404)."""


class Forbidden(Exception):
    """A request this actor may not make (403), or a login needed (401: a redirect to the login page)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def in_one_line(exc: BaseException) -> str:
    """An exception from a library as a short part of one error line: its message's white space (line
    breaks included) collapsed, at most 200 characters, else its type's name."""
    return " ".join(str(exc).split())[:200] or type(exc).__name__
