"""Inputs sized to hurt: validation, codebook and project imports and selection stay linear in their size.

Each test runs under a generous alarm (a hang guard, not a speed measurement: ``benchmarks/hostile.py``
prints the times). Before the fix each of these ran for minutes (``ids.count`` per theme, a set rebuilt per
code or per case); now each takes seconds."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sibkit.coding.codebook import Codebook
from sibkit.interop.codes import import_qdc
from sibkit.interop.importer import import_qdpx
from sibkit.study import load_study
from sibkit.study.model import parse_study
from sibkit.study.selection import select
from sibkit.testing import make_zip

HANG = 40  # seconds: far above what a linear run needs, far below what the quadratic one took


@contextmanager
def within(seconds: float) -> Iterator[None]:
    def stop(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s: something grows faster than the input")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_codebook_of_100000_themes_validates_in_linear_time() -> None:
    themes = [{"id": f"t{i}", "name": f"Theme {i}", "parent": f"t{i - 1}" if i % 1000 else None,
               "terms": [f"word{i}"]} for i in range(100_000)]
    themes.append({"id": "t5", "name": "again"})  # found only after every id was counted
    with within(HANG), pytest.raises(ValueError, match="theme id 't5' is used twice"):
        Codebook.model_validate({"name": "big", "themes": themes})
    chain = [{"id": f"t{i}", "name": "T", "parent": f"t{i - 1}" if i else None} for i in range(20_000)]
    with within(HANG):  # one chain of 20,000 parents: each walked once
        assert len(Codebook.model_validate({"name": "deep", "themes": chain}).themes) == 20_000
    many_terms = [{"id": "t", "name": "T", "terms": [f"term {i}" for i in range(50_000)] + ["term 7"]}]
    with within(HANG), pytest.raises(ValueError, match="term 'term 7' is listed twice"):
        Codebook.model_validate({"name": "big", "themes": many_terms})


def _codes_xml(count: int, namespace: str) -> str:
    codes = "".join(f'<Code guid="{uuid.UUID(int=i + 1)}" name="Code {i}" isCodable="true"/>' for i in range(count))
    return f'<?xml version="1.0" encoding="utf-8"?><CodeBook xmlns="{namespace}"><Codes>{codes}</Codes></CodeBook>'


def test_import_qdc_of_100000_codes_is_linear(tmp_path: Path) -> None:
    source = tmp_path / "big.qdc"
    source.write_text(_codes_xml(100_000, "urn:QDA-XML:codebook:1.0"), encoding="utf-8")
    with within(HANG):
        result = import_qdc(source, tmp_path / "big.yaml")
    assert len(result.codebook.themes) == 100_000


def test_import_qdpx_of_30000_codes_is_linear(tmp_path: Path, indigo_dir: Path, dataset) -> None:
    codes = _codes_xml(30_000, "urn:QDA-XML:project:1.0").split("<Codes>", 1)[1].split("</Codes>", 1)[0]
    project = ('<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" name="big">'
               f"<CodeBook><Codes>{codes}</Codes></CodeBook></Project>")
    archive = make_zip(tmp_path / "big.qdpx", {"project.qde": project})
    (tmp_path / "s.yaml").write_text(f"title: t\ndata: {indigo_dir}\n", encoding="utf-8")
    study = load_study(tmp_path / "s.yaml")
    study._dataset = dataset
    with within(HANG):
        result = import_qdpx(archive, study)
    assert result.added["codes"] == 30_000 and len(result.new_themes) == 30_000


def test_20000_selection_steps_are_linear(dataset) -> None:
    ids = sorted(dataset.projects["id"])
    kinds = ("  - include: [{{id: {id}}}]\n", "  - exclude: [{{id: {id}, reason: r}}]\n")
    steps = "".join(kinds[i % 2].format(id=ids[(i * 7) % len(ids)]) for i in range(19_998))
    steps += "  - countries: [GB, US, FR, PT, NL, AU, IL]\n  - min_documents: 1\n"
    with within(HANG):
        study = parse_study("selection:\n" + steps)
        result = select(study, dataset)
    assert len(study.selection) == 20_000 and len(result.flow) == 20_000
    assert result.flow["out"].iloc[-1] == len(result.selected)
