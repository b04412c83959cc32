"""Optional extras: import a module that only an extra installs, or say in one line how to get it."""

from __future__ import annotations

import importlib
from types import ModuleType

from sibkit.errors import SibkitError


def require(module: str, extra: str, purpose: str, otherwise: str = "") -> ModuleType:
    """Import ``module`` (installed by ``sibkit[extra]``) or raise a one-line ``SibkitError``;
    ``otherwise``: what a user can do instead, added to the line."""
    try:
        return importlib.import_module(module)
    except ImportError:
        instead = f"; {otherwise}" if otherwise else ""
        raise SibkitError(f"{purpose} needs the '{extra}' extra: pip install 'sibkit[{extra}]'{instead}") from None
