"""Package namespaces whose names are imported from their modules on first use (PEP 562), so the
command line starts without loading every library a package can use."""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any


class _LazyPackage(types.ModuleType):
    """A package whose export ``name`` lives in its submodule ``name`` (``indigo.quality.quality``).

    Importing that submodule makes Python set the package's attribute to the module; an eager
    ``from .quality import quality`` would then have put the function back. This does the same, so
    ``from package import name`` gives the function whatever was imported before.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        exports = self.__dict__.get("_lazy_exports", {})
        if (exports.get(name) == name and isinstance(value, types.ModuleType)
                and value.__name__ == f"{self.__name__}.{name}" and hasattr(value, name)):
            value = getattr(value, name)
        super().__setattr__(name, value)


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], list[str]]:
    """A module ``__getattr__`` and ``__all__`` for ``{name: submodule}`` (relative to ``package``)."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
            if exports[name] != name:  # a name equal to its module's is kept by _LazyPackage
                globals_ = sys.modules[package].__dict__
                globals_.setdefault(name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    module = sys.modules.get(package)
    if module is not None and type(module) is types.ModuleType:
        module.__dict__["_lazy_exports"] = dict(exports)
        module.__class__ = _LazyPackage
    return __getattr__, sorted(exports)
