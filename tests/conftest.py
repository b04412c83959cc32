"""Shared fixtures: the shared INDIGO export (skipped outside CI when absent, fatal under CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
INDIGO_EXPORT = SHARED / "indigo" / "impact-bond-dataset-2025-05-20"
REFI_QDA = SHARED / "refi-qda"


def missing(message: str) -> None:
    """Something a test needs is not on this machine: skip with the reason, but fail under CI (CI=true)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def require_shared(path: Path) -> Path:
    if not path.exists():
        missing(f"{path} is absent: the tests need ../shared beside the repository")
    return path


def require_chromium() -> Path:
    """Debian's Chromium for the browser tests."""
    from sibkit.web.server import CHROMIUM

    if not CHROMIUM.exists():
        missing(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium; .ci/run installs it)")
    return CHROMIUM


@pytest.fixture(scope="session")
def axe_violations():
    """axe-core, Deque's accessibility rules engine (WCAG 2 A/AA and best practices, shipped in the
    axe-playwright-python package), run on a Playwright page: one line per rule the page breaks, with
    the first elements that break it; [] when it breaks none."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()

    def violations(page) -> list[str]:  # type: ignore[no-untyped-def]
        found = axe.run(page).response["violations"]
        return [f"{rule['id']} ({rule['impact']}): {rule['help']}: "
                + ", ".join(" ".join(node["target"]) for node in rule["nodes"][:3]) for rule in found]

    return violations


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per test module (skipped without it, fatal under CI)."""
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    from sibkit.web.server import BROWSER_ARGS

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=BROWSER_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def indigo_dir() -> Path:
    return require_shared(INDIGO_EXPORT)


@pytest.fixture(scope="session")
def refi_qda_dir() -> Path:
    return require_shared(REFI_QDA)


@pytest.fixture(scope="session")
def dataset(indigo_dir: Path):
    """The shared export, loaded once per test session (treat as read-only)."""
    from sibkit.indigo import load

    return load(indigo_dir)


@pytest.fixture(scope="session")
def _hyperscan_databases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Compiled Hyperscan databases, shared by every test (they depend only on their patterns)."""
    return tmp_path_factory.mktemp("hyperscan")


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
                       _hyperscan_databases: Path) -> None:
    """Never touch the user's real data cache from a test (compiled Hyperscan databases excepted)."""
    data = tmp_path_factory.mktemp("sibkit-data")
    (data / "hyperscan").symlink_to(_hyperscan_databases, target_is_directory=True)
    monkeypatch.setenv("SIBKIT_DATA", str(data))


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the whole session (skipped without its binaries, fatal under CI)."""
    from sibkit.testing import PostgresServer, postgres_bin

    if postgres_bin() is None:
        missing("PostgreSQL server binaries are not installed (apt-get install postgresql; .ci/run installs them)")
    server = PostgresServer()
    yield server
    server.stop()


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "uk-sibs-2016-2021.yaml"
#: the example's faithful defaults, and what counts everything INDIGO lists instead
EVERY_ITEM = {
    "    kinds: [evaluation, case study, review, commentary, academic article]": "    kinds: all",
    "    without_url: false": "    without_url: true",
    "    without_title: false": "    without_title: true",
    "  payment_kinds: [outcome] ": "  payment_kinds: [outcome, relief, other] ",
    "  target_kinds: [contracted, unknown] ": "  target_kinds: [contracted, cohort, unknown] ",
}


def every_item_example(data: Path | str | None = None) -> str:
    """The example study counting every item INDIGO lists (any kind, with or without a URL or title),
    every Actual payment and every target: the reading before issue 25 (43 cases, 8 successful and 8
    struggling), for tests of later steps that need a comparison to work with. ``data``: the export."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in EVERY_ITEM.items():
        assert old in text, f"the example study no longer has {old.strip()!r}"
        text = text.replace(old, new)
    return text if data is None else text.replace("data: null", f"data: {data}")


@pytest.fixture()
def sample_study(tmp_path: Path, indigo_dir: Path, dataset):
    """A study on the shared export whose database holds the workbench's sample corpus (one document,
    two hits): ``(study, store)``."""
    from sibkit.store import open_store
    from sibkit.study import load_study
    from sibkit.workbench.sample import add_sample_corpus

    path = tmp_path / "study.yaml"
    path.write_text(f"title: Sample study\ndata: {indigo_dir}\n", encoding="utf-8")
    study = load_study(path)
    study._dataset = dataset
    store = open_store(study.database_url())
    add_sample_corpus(store, documents=1, references_per_document=2)
    return study, store
