"""``sibkit codebook agreement``: how far two labellings of the same passages agree, worked out by hand."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sibkit.coding import compare_labellings
from sibkit.errors import SibkitError

# id, text, the first labelling, the second labelling
PASSAGES = [
    ("p1", "The council and the provider met every week.", "integrated-partnership", "integrated-partnership"),
    ("p2", "Partners met weekly to stop problems early.", "integrated-partnership;prevention",
     "integrated-partnership"),
    ("p3", "The investor paid for outcomes.", "", "integrated-partnership"),
    ("p4", "Early help kept families together.", "prevention", "prevention"),
    ("p5", "A joint board ran the service.", "integrated-partnership", ""),
    ("p6", "The contract ran for five years.", "", ""),
]
# By hand. integrated-partnership: the first says p1 p2 p5, the second p1 p2 p3: both 2, second only 1 (p3),
# first only 1 (p5), neither 2 (p4 p6); P = R = 2/3; kappa = (4/6 - (3*3 + 3*3)/36) / (1 - 18/36) = 1/3.
# prevention: the first p2 p4, the second p4: both 1, first only 1, neither 4; P = 1, R = 1/2;
# kappa = (5/6 - (2*1 + 4*5)/36) / (1 - 22/36) = 8/14 = 4/7. Pooled: 3 both, 1 second only, 2 first only:
# P = 3/4, R = 3/5.


def write(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    with first.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "split", "text", "themes"])
        writer.writerows([(pid, "measure", text, one) for pid, text, one, _ in PASSAGES])
    with second.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "themes", "note"])
        writer.writerows([(pid, two, "") for pid, _, _, two in reversed(PASSAGES)])  # order does not matter
    return first, second


def test_figures_worked_out_by_hand(tmp_path: Path) -> None:
    first, second = write(tmp_path)
    result = compare_labellings(first, second)
    rows = {row.theme: row for row in result.themes.itertuples(index=False)}
    assert list(rows) == ["integrated-partnership", "prevention"]
    partnership, prevention = rows["integrated-partnership"], rows["prevention"]
    assert (partnership.passages, partnership.fired, partnership.true_pos, partnership.false_pos,
            partnership.misses) == (3, 3, 2, 1, 1)
    assert partnership.precision == pytest.approx(2 / 3) and partnership.recall == pytest.approx(2 / 3)
    assert partnership.kappa == pytest.approx(1 / 3)
    assert (prevention.true_pos, prevention.false_pos, prevention.misses) == (1, 0, 1)
    assert prevention.precision == 1 and prevention.recall == 0.5
    assert prevention.kappa == pytest.approx(4 / 7)
    micro = result.averages.set_index("average").loc["micro"]
    assert micro["precision"] == pytest.approx(0.75) and micro["recall"] == pytest.approx(0.6)
    assert (result.passages, result.labelled_passages) == (6, 4)
    # a labelling against itself agrees perfectly
    same = compare_labellings(first, first)
    assert same.themes["kappa"].tolist() == [1.0, 1.0] and same.themes["false_pos"].sum() == 0


def test_a_passage_the_second_did_not_label_is_named(tmp_path: Path) -> None:
    first, second = write(tmp_path)
    lines = second.read_text(encoding="utf-8").splitlines()
    second.write_text("\n".join(line for line in lines if not line.startswith("p3,")) + "\n", encoding="utf-8")
    with pytest.raises(SibkitError, match=r"lacks 1 of the first's passages \(p3\)"):
        compare_labellings(first, second)


def test_cli_json_and_one_line_error(tmp_path: Path) -> None:
    first, second = write(tmp_path)
    done = subprocess.run([sys.executable, "-m", "sibkit", "codebook", "agreement", str(first), str(second),
                           "--json", "--details"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert [(t["theme"], t["true_pos"], t["false_pos"], t["misses"], round(t["kappa"], 4))
            for t in payload["themes"]] == [("integrated-partnership", 2, 1, 1, 0.3333),
                                            ("prevention", 1, 0, 1, 0.5714)]
    assert sorted((d["id"], d["theme"], d["kind"]) for d in payload["details"]) == [
        ("p2", "prevention", "miss"), ("p3", "integrated-partnership", "false alarm"),
        ("p5", "integrated-partnership", "miss")]
    text = subprocess.run([sys.executable, "-m", "sibkit", "codebook", "agreement", str(first), str(second)],
                          capture_output=True, text=True, timeout=120)
    assert "second.csv against first.csv on 6 passages (4 with at least one label in the first, 2 with none)" \
        in " ".join(text.stdout.split())
    assert "fewer than 10 passages" in text.stderr
    missing = subprocess.run([sys.executable, "-m", "sibkit", "codebook", "agreement", str(first),
                              str(tmp_path / "none.csv")], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and missing.stderr.strip().endswith("none.csv: no such file")


THEMES = ["prevention", "innovation", "place-based"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sets(st.sampled_from(THEMES)), st.sets(st.sampled_from(THEMES))), min_size=1,
                max_size=30))
def test_swapping_the_labellings_swaps_precision_and_recall_and_keeps_kappa(pairs) -> None:
    def frame(side: int) -> pd.DataFrame:
        return pd.DataFrame({"id": [str(i) for i in range(len(pairs))], "split": [""] * len(pairs),
                             "text": ["passage"] * len(pairs),
                             "themes": [tuple(sorted(pair[side])) for pair in pairs]})

    one, two = compare_labellings(frame(0), frame(1)), compare_labellings(frame(1), frame(0))
    assert list(one.themes["theme"]) == list(two.themes["theme"])
    for a, b in zip(one.themes.itertuples(index=False), two.themes.itertuples(index=False), strict=True):
        assert (a.true_pos, a.false_pos, a.misses) == (b.true_pos, b.misses, b.false_pos)
        assert (a.precision == b.recall) or (math.isnan(a.precision) and math.isnan(b.recall))
        assert (a.kappa == pytest.approx(b.kappa)) or (math.isnan(a.kappa) and math.isnan(b.kappa))
        if not math.isnan(a.kappa):
            assert -1 - 1e-9 <= a.kappa <= 1 + 1e-9
