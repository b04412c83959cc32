"""Every public name of the lazily-imported packages resolves to what it says, even once all their
submodules are imported (a submodule of the same name would shadow a function)."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest


@pytest.mark.parametrize("package_name", ["sibkit.corpus", "sibkit.coding", "sibkit.report", "sibkit.indigo",
                                          "sibkit.study", "sibkit.web"])
def test_public_names_are_not_shadowed_by_submodules(package_name: str) -> None:
    package = importlib.import_module(package_name)
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package_name}.{module.name}")
    for name in package.__all__:
        value = getattr(package, name)
        assert not isinstance(value, types.ModuleType), f"{package_name}.{name} is a module"


def test_the_command_line_does_not_load_the_heavy_libraries() -> None:
    import subprocess
    import sys

    code = "import sys, sibkit.cli; print(sorted(m for m in ('scipy', 'statsmodels', 'matplotlib', 'trafilatura') " \
           "if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
