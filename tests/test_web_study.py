"""The study pages of the web app, against the real server, a study file and its SQLite corpus database."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import httpx

from sibkit.store import open_store
from sibkit.store.models import Document, DocumentCase
from sibkit.study import load_study
from sibkit.web import create_app
from sibkit.web.server import BackgroundServer

STUDY = """\
title: UK <em>impact</em> bonds live 2016-2021
data: {data}
selection:
  - countries: [GB]
  - live_years: {{from: 2016, to: 2021}}
  - min_documents: 4
"""


def test_study_pages_show_the_flow_cases_and_documents(tmp_path: Path, indigo_dir: Path, dataset) -> None:
    path = tmp_path / "uk.yaml"
    path.write_text(STUDY.format(data=indigo_dir), encoding="utf-8")
    study = load_study(path)
    study._dataset = dataset  # the export already loaded for the session (same folder as `data`)
    store = open_store(study.database_url())  # uk.sqlite beside the study file
    with store.session() as session:
        document = Document(sha256=hashlib.sha256(b"evaluation").hexdigest(), title="Final <b>evaluation</b>",
                            doc_type="evaluation", origin="corpus/INDIGO-POJ-0110/final.pdf", word_count=1234,
                            status="ok")
        document.cases.append(DocumentCase(case_id="INDIGO-POJ-0110"))
        session.add(document)
    store.close()

    with BackgroundServer(create_app(dataset, study)) as server:
        page = httpx.get(server.url + "/study")
        assert page.status_code == 200
        html = page.text
        assert "UK &lt;em&gt;impact&lt;/em&gt; bonds" in html and "<em>impact" not in html
        assert "Final &lt;b&gt;evaluation&lt;/b&gt;" in html

        body = httpx.get(server.url + "/api/study").json()
        # 319 projects; 100 delivered in GB; 68 of them live 2016-2021; 43 with >= 4 distinct documents
        # (the same counts test_study_selection works out; one more corpus document does not move 0110,
        # which already has exactly 4 and is kept)
        assert [(s["in"], s["excluded"], s["out"]) for s in body["flow"]] == [(319, 219, 100), (100, 32, 68),
                                                                               (68, 25, 43)]
        assert len(body["cases"]) == 43
        assert {c["class"] for c in body["cases"]} <= {"successful", "struggling", "insufficient data"}
        assert body["documents"] == [{"case_id": "INDIGO-POJ-0110", "document_id": 1,
                                      "title": "Final <b>evaluation</b>", "doc_type": "evaluation",
                                      "origin": "final.pdf", "status": "ok", "words": 1234,  # a name, never a path
                                      "date": None}]

        cases_csv = httpx.get(server.url + "/download/study/cases.csv")
        rows = list(csv.DictReader(io.StringIO(cases_csv.content.decode("utf-8-sig"))))
        assert {r["case_id"] for r in rows} == {c["case_id"] for c in body["cases"]}
        project = httpx.get(server.url + "/projects/INDIGO-POJ-0110").text
        assert "Study class" in project


def test_study_pages_without_a_study_say_how_to_get_them(tmp_path: Path, dataset) -> None:
    with BackgroundServer(create_app(dataset)) as server:
        response = httpx.get(server.url + "/api/study")
        assert response.status_code == 400
        assert "sibkit serve STUDY" in response.json()["error"]
