"""Optional extras: import a module that only an extra installs, or say in one line how to get it."""

from __future__ import annotations

import importlib
from types import ModuleType

from sibkit.errors import SibkitError


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` (installed by ``sibkit[extra]``) or raise a one-line ``SibkitError``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise SibkitError(f"{purpose} needs the '{extra}' extra: pip install 'sibkit[{extra}]'") from None
