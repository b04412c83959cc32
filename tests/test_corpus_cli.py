"""``sibkit corpus`` from the command line, on a study over the shared export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import every_item_example

ROOT = Path(__file__).resolve().parents[1]


def sibkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sibkit", *args], capture_output=True, text=True, timeout=300)


def test_folder_convention_manifest_indigo_records_and_status(tmp_path: Path, indigo_dir: Path) -> None:
    study = tmp_path / "study.yaml"
    study.write_text(every_item_example(indigo_dir), encoding="utf-8")  # 43 cases, 0110 and 0109 among them
    case_folder = tmp_path / "corpus" / "INDIGO-POJ-0110"
    case_folder.mkdir(parents=True)
    (case_folder / "interim.txt").write_text("Interim evaluation: partnership working in Lincolnshire.")
    (case_folder / "final.md").write_text("# Final report\n\nThe service model was adapted often.")
    (tmp_path / "extra.txt").write_text("A commentary on both homelessness SIBs.")
    (tmp_path / "manifest.csv").write_text(
        "path,case_ids,title,type,date\n"
        "extra.txt,INDIGO-POJ-0110 INDIGO-POJ-0109,Commentary,commentary,2019-05\n"
        "missing.txt,INDIGO-POJ-0110,Gone,review,\n"
        "extra.txt,INDIGO-POJ-9999,Wrong case,review,\n"
        "extra.txt,INDIGO-POJ-0110,Bad type,pamphlet,\n")
    done = sibkit("corpus", "add", str(study))
    assert done.returncode == 0, done.stderr
    assert "added: 2" in done.stdout
    done = sibkit("corpus", "add", str(study), "--manifest", str(tmp_path / "manifest.csv"))
    assert done.returncode == 1, done.stderr  # some rows failed: the exit status says so
    assert "3 item(s) not imported" in done.stderr
    assert "case 'INDIGO-POJ-9999' is not in the dataset; row skipped" in done.stderr
    assert "'pamphlet' is not one of" in done.stderr and "missing.txt: failed" in done.stderr
    assert "added: 1" in done.stdout
    done = sibkit("corpus", "add-indigo", str(study))
    assert done.returncode == 0, done.stderr
    assert "added: 43" in done.stdout
    done = sibkit("corpus", "status", str(study), "--json")
    assert done.returncode == 0, done.stderr
    cases = {row["case_id"]: row for row in json.loads(done.stdout)["cases"]}
    assert len(cases) == 43
    # 0110: INDIGO lists 4 distinct documents (test_study_selection); the corpus holds interim.txt,
    # final.md and the manifest's commentary (its INDIGO record is not counted); every kind counts here
    lincs = cases["INDIGO-POJ-0110"]
    assert (lincs["listed"], lincs["listed_counted"], lincs["held"], lincs["held_counted"]) == (4, 4, 3, 3)
    assert lincs["counted"] == 7 and lincs["lacking"] == 0
    assert lincs["held_by_kind"] == "commentary 1; other 2"  # added without --type: kind from the file's name
    assert cases["INDIGO-POJ-0109"]["held"] == 1
    done = sibkit("corpus", "status", str(study))
    assert "listed = on INDIGO's reading list, held = readable in the study's corpus" in " ".join(done.stdout.split())
    assert (tmp_path / "study.sqlite").exists()
