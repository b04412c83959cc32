"""Results kept on disk by fingerprint: the typed INDIGO tables and the study run's memo."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest

from sibkit import memo
from sibkit.indigo import load, typed_cache
from sibkit.indigo.dataset import raw_from_folder, type_tables


def _entries() -> list[Path]:
    return sorted(typed_cache.cache_dir().glob("*.pickle"))


def test_typed_tables_come_back_equal_to_a_fresh_typing(indigo_dir: Path) -> None:
    first = load(indigo_dir)
    assert len(_entries()) == 1
    second = load(indigo_dir)
    issues: list = []
    fresh = type_tables(raw_from_folder(indigo_dir, issues), issues)  # typed here, without the cache
    assert list(second.tables) == list(fresh)
    for name, frame in fresh.items():
        pdt.assert_frame_equal(second.tables[name], frame, check_exact=True)
        pdt.assert_frame_equal(first.tables[name], frame, check_exact=True)
    assert second.issues == issues and len(issues) > 0
    assert second.source == str(indigo_dir)
    assert len(_entries()) == 1


def test_a_changed_export_is_typed_again(indigo_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "export"
    shutil.copytree(indigo_dir, copy)
    before = load(copy)
    projects = copy / "projects.csv"
    data = projects.read_bytes()
    name = before.projects["name"].iloc[0]
    projects.write_bytes(data.replace(name.encode(), b"Renamed bond", 1))
    after = load(copy)
    assert after.projects["name"].iloc[0] == "Renamed bond"
    assert len(_entries()) == 2
    projects.write_bytes(data)  # back as it was: the first entry again
    assert load(copy).projects["name"].iloc[0] == name
    assert len(_entries()) == 2


def test_a_damaged_entry_is_rebuilt(indigo_dir: Path) -> None:
    load(indigo_dir)
    (entry,) = _entries()
    entry.write_bytes(entry.read_bytes()[:1000])  # truncated
    again = load(indigo_dir)
    assert len(again.projects) == 319
    entry.write_bytes(b"not a memo\n")
    assert len(load(indigo_dir).projects) == 319


def test_the_zip_of_an_export_is_keyed_by_its_bytes(indigo_dir: Path, tmp_path: Path) -> None:
    from sibkit.testing import make_zip

    archive = make_zip(tmp_path / "export.zip", {p.name: p.read_bytes() for p in indigo_dir.glob("*.csv")})
    zipped = load(archive)
    assert zipped.source == str(archive)
    pdt.assert_frame_equal(load(archive).projects, load(indigo_dir).projects)
    assert len(_entries()) == 2  # the zip and the folder


def test_keys_tell_apart_what_differs() -> None:
    frame = pd.DataFrame({"case": ["a", "b"], "n": [1, 2]})
    base = memo.key(("x", frame))
    assert memo.key(("x", frame.copy())) == base
    assert memo.key(("x", frame.assign(n=[1, 3]))) != base
    assert memo.key(("x", frame.astype({"n": float}))) != base  # same text, another dtype
    assert memo.key(("x", frame.assign(case=["a", None]))) != memo.key(("x", frame.assign(case=["a", ""])))
    assert memo.key(("x", frame), modules=("sibkit.memo",)) != base
    assert memo.key(("y", frame)) != base
    assert memo.key({"b": 1, "a": 2}) == memo.key({"a": 2, "b": 1})
    with pytest.raises(TypeError):
        memo.key(object())


def test_memoised_computes_once_and_survives_damage() -> None:
    calls = []

    def compute() -> pd.DataFrame:
        calls.append(1)
        return pd.DataFrame({"v": [0.1, float("nan")]})

    name = memo.key(("test", 1))
    first = memo.memoised(name, compute)
    second = memo.memoised(name, compute)
    pdt.assert_frame_equal(first, second)
    assert len(calls) == 1
    path = memo.memo_dir() / f"{name}.pickle"
    path.write_bytes(path.read_bytes()[:20])
    pdt.assert_frame_equal(memo.memoised(name, compute), first)
    assert len(calls) == 2
