"""Errors a user can cause, reported as one clear line by the CLI."""


class SibkitError(Exception):
    """A problem with the user's input or environment: what, where, and what to do."""


class DataSourceError(SibkitError):
    """A dataset source that cannot be read at all."""


class NotFound(SibkitError):
    """A thing asked for by its id that the study does not hold (the web answers 404)."""
