"""The sensitivity scenarios the comparison runs must agree with the main classification.

At the study's own tolerance, every case's class in the sensitivity table is the class the
comparison uses; otherwise the sensitivity results compare different groups than the findings
(as happened when a missing ratio, NaN in the DataFrame, was read as a failed outcome).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from sibkit.analysis import Settings, associate, compare, sensitivity
from sibkit.outcomes import classify_study
from sibkit.study import load_study, select
from sibkit.study.model import Presence

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "uk-sibs-2016-2021.yaml"


def test_sensitivity_at_the_study_tolerance_is_the_main_comparison(tmp_path: Path, indigo_dir: Path) -> None:
    text = re.sub(r"(?m)^data: .*$", f"data: {indigo_dir}", EXAMPLE.read_text(encoding="utf-8"))
    (tmp_path / "study.yaml").write_text(text, encoding="utf-8")
    study = load_study(tmp_path / "study.yaml")
    classification = classify_study(study, select(study))
    tolerance = study.outcomes.tolerance
    table = classification.sensitivity.set_index("case_id")
    main = classification.cases.set_index("case_id")["class"]
    assert table[f"class_at_{tolerance:g}"].reindex(main.index).tolist() == main.tolist()

    # one theme, associated for every case: at the study tolerance the group sizes match the findings
    counts = pd.DataFrame({"case_id": main.index, "theme": "t", "effective_references": 1, "rate_per_10k": 1.0})
    settings = Settings(seed=1, permutations=99, bootstrap=100)
    findings = compare(associate(counts, Presence(min_references=1)), main, settings)
    scenarios, _ = sensitivity(counts, classification.sensitivity, [Presence(min_references=1)], settings)
    at_study_tolerance = scenarios[scenarios["tolerance"] == tolerance].iloc[0]
    assert at_study_tolerance["n_successful"] == findings.loc[0, "n_successful"] == (main == "successful").sum()
    assert at_study_tolerance["n_struggling"] == findings.loc[0, "n_struggling"] == (main == "struggling").sum()
