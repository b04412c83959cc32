"""Arbitrary values on every route and in every field of an imported REFI-QDA project, on SQLite and on a
real PostgreSQL server: a page or a clear refusal (never a 500), an import or one clear error (never a
traceback). Example counts are kept modest for CI time; ``benchmarks/hostile.py`` runs more."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from starlette.testclient import TestClient

from sibkit.errors import SibkitError
from sibkit.store import open_store
from sibkit.study import load_study
from sibkit.workbench.sample import add_sample_corpus

SPECIAL = ["", "0", "1", "2", "-1", str(10**30), str(2**63), str(2**31), "1e400", "nan", "1.5", "\x00", "%00",
           "' OR 1=1 --", "../../etc/passwd", "<script>alert(1)</script>", "x" * 300, "INDIGO-POJ-0110",
           "partnership", "accept", "reference", "document", "case", "study", "on", "\u202e\ufeff", "🙂" * 30]
#: text with any character a URL or a form can carry (no lone surrogates: UTF-8 cannot)
TEXT = st.one_of(st.sampled_from(SPECIAL), st.sampled_from(SPECIAL), st.integers().map(str),
                 st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))

GETS: list[tuple[str, tuple[str, ...]]] = [
    ("/", ("country", "sector", "stage", "live_from", "live_to", "as_of")),
    ("/projects", ("country", "sort", "page", "id", "q", "live_from")),
    ("/projects/{}", ()), ("/organisations/{}", ()), ("/funds/{}", ()),
    ("/api/stats", ("by", "country", "stage")), ("/api/projects", ("id", "country")), ("/api/projects/{}", ()),
    ("/download/projects.csv", ("id", "sort")), ("/download/breakdown-{}.csv", ("country",)),
    ("/download/projects/{}/{}.csv", ()), ("/study", ()), ("/api/study", ()), ("/download/study/{}.csv", ()),
    ("/review", ()), ("/review/queue", ("theme", "case", "status", "origin", "coder", "after", "ref")),
    ("/review/documents/{}", ("ref",)), ("/review/admin", ()), ("/review/login", ()), ("/review/static/{}", ()),
    ("/healthz", ()),
]
POSTS: list[tuple[str, tuple[str, ...]]] = [
    ("/review/decide", ("reference_id", "decision", "new_theme", "request_key", "next")),
    ("/review/undo", ("next",)), ("/review/code", ("document_id", "start", "end", "theme", "selected")),
    ("/review/memo", ("target_kind", "target_id", "text", "next")), ("/review/admin/blind", ("blind",)),
    ("/review/login", ("name", "password")),
]


def _database(kind: str, request, tmp: Path) -> str:
    if kind == "postgresql":
        return request.getfixturevalue("postgres").new_database()
    return f"sqlite:///{tmp / 'study.sqlite'}"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def served(request, tmp_path_factory, indigo_dir: Path, dataset):
    from sibkit.web import create_app

    tmp = tmp_path_factory.mktemp(f"routes-{request.param}")
    database = _database(request.param, request, tmp)
    (tmp / "study.yaml").write_text(f"title: Any input\ndata: {indigo_dir}\ncorpus:\n  database: {database}\n",
                                    encoding="utf-8")
    study = load_study(tmp / "study.yaml")
    study._dataset = dataset
    store = open_store(database)
    add_sample_corpus(store, documents=2, references_per_document=3, hostile=True)
    store.close()
    client = TestClient(create_app(dataset, study, coder="ann"), base_url="http://127.0.0.1",
                        client=("127.0.0.1", 50000), raise_server_exceptions=False, follow_redirects=False)
    page = client.get("/review/queue")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    login = re.search(r'name="csrf" value="([^"]+)"', client.get("/review/login").text).group(1)  # type: ignore[union-attr]
    yield client, token, login
    client.close()


def _request(client: TestClient, token: str, login: str, data, gets, posts):  # type: ignore[no-untyped-def]
    if posts and data.draw(st.booleans(), label="post"):
        path, fields = data.draw(st.sampled_from(posts), label="route")
        form = {name: data.draw(TEXT, label=name) for name in fields if data.draw(st.integers(0, 4))}
        form["csrf"] = login if path == "/review/login" else token
        return client.post(path, data=form)
    template, fields = data.draw(st.sampled_from(gets), label="route")
    path = template.format(*(quote(data.draw(TEXT, label="part"), safe="") for _ in range(template.count("{}"))))
    params = {name: data.draw(TEXT, label=name) for name in fields if data.draw(st.integers(0, 4))}
    return client.get(path, params=params)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_value_on_any_page_of_the_field_is_a_page_or_a_clear_refusal(served, data) -> None:
    client, token, login = served
    answer = _request(client, token, login, data, [g for g in GETS if not g[0].startswith("/review")], [])
    assert answer.status_code < 500, (answer.request.url, answer.status_code, answer.text[:300])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_value_on_any_workbench_route_is_a_page_or_a_clear_refusal(served, data) -> None:
    client, token, login = served
    answer = _request(client, token, login, data, [g for g in GETS if g[0].startswith("/review")], POSTS)
    assert answer.status_code < 500, (answer.request.url, answer.status_code, answer.text[:300])
    assert "Something went wrong" not in answer.text


# -- every field of an imported project ---------------------------------------------------------------

#: characters XML 1.0 can hold (no control characters but tab and line ends, no lone surrogates)
XML_TEXT = st.one_of(st.sampled_from(["", "x" * 300, "0", "-5", str(10**30), "#ff00zz", "Float" * 30, "{a}"]),
                     st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"),
                                                    blacklist_characters="\ufffe\uffff"), max_size=60))
POOL = [str(uuid.UUID(int=n)) for n in (1, 2, 3, 4)]
GUID = st.one_of(st.sampled_from(POOL), st.sampled_from(["{" + POOL[0].upper() + "}"]), XML_TEXT)
POSITION = st.one_of(st.integers(-3, 40).map(str), st.sampled_from([str(10**30), str(2**63), "1.5"]), XML_TEXT)


def _project(data) -> tuple[bytes, bytes]:
    """A project.qde whose every attribute and text is drawn, and the bytes of one source file."""
    ns = "urn:QDA-XML:project:1.0"

    def add(parent, tag: str, **attributes: str):  # type: ignore[no-untyped-def]
        element = etree.SubElement(parent, f"{{{ns}}}{tag}")
        for key, value in attributes.items():
            element.set(key, value)
        return element

    root = etree.Element(f"{{{ns}}}Project", nsmap={None: ns}, name=data.draw(XML_TEXT), origin=data.draw(XML_TEXT))
    users = add(root, "Users")
    for _ in range(data.draw(st.integers(0, 2))):
        add(users, "User", guid=data.draw(GUID), name=data.draw(XML_TEXT))
    codes = add(add(root, "CodeBook"), "Codes")
    for _ in range(data.draw(st.integers(0, 3))):
        code = add(codes, "Code", guid=data.draw(GUID), name=data.draw(XML_TEXT), isCodable=data.draw(XML_TEXT),
                   color=data.draw(XML_TEXT))
        add(code, "Description").text = data.draw(st.one_of(XML_TEXT, XML_TEXT.map(
            lambda t: f"--- sibkit theme ---\nid: {t}\nterms: [{t}]")))
    variables = add(root, "Variables")
    for _ in range(data.draw(st.integers(0, 2))):
        add(variables, "Variable", guid=data.draw(GUID), name=data.draw(XML_TEXT), typeOfVariable=data.draw(XML_TEXT))
    sources = add(root, "Sources")
    for _ in range(data.draw(st.integers(0, 2))):
        inline = data.draw(st.booleans())
        source = add(sources, "TextSource", guid=data.draw(GUID), name=data.draw(XML_TEXT),
                     **({} if inline else {"plainTextPath": data.draw(st.sampled_from(
                         ["internal://file.txt", "relative://file.txt", "file.txt", "../x.txt", "/etc/passwd"]))}))
        add(source, "Description").text = data.draw(st.one_of(XML_TEXT, XML_TEXT.map(
            lambda t: f'sibkit document: {{"date": "{t}", "type": "{t}", "sha256": "{t}"}}')))
        if inline:
            add(source, "PlainTextContent").text = data.draw(XML_TEXT)
        for _ in range(data.draw(st.integers(0, 2))):
            selection = add(source, "PlainTextSelection", guid=data.draw(GUID), startPosition=data.draw(POSITION),
                            endPosition=data.draw(POSITION), name=data.draw(XML_TEXT))
            coding = add(selection, "Coding", guid=data.draw(GUID), creatingUser=data.draw(GUID),
                         creationDateTime=data.draw(XML_TEXT))
            add(coding, "CodeRef", targetGUID=data.draw(GUID))
        value = add(source, "VariableValue")
        add(value, "VariableRef", targetGUID=data.draw(GUID))
        add(value, data.draw(st.sampled_from(["TextValue", "IntegerValue", "FloatValue", "DateValue"]))).text = \
            data.draw(XML_TEXT)
    cases = add(root, "Cases")
    for _ in range(data.draw(st.integers(0, 2))):
        case = add(cases, "Case", guid=data.draw(GUID), name=data.draw(XML_TEXT))
        add(case, "SourceRef", targetGUID=data.draw(GUID))
        add(case, "SelectionRef", targetGUID=data.draw(GUID))
    notes = add(root, "Notes")
    for _ in range(data.draw(st.integers(0, 2))):
        note = add(notes, "Note", guid=data.draw(GUID), name=data.draw(XML_TEXT), creatingUser=data.draw(GUID))
        add(note, "PlainTextContent").text = data.draw(XML_TEXT)
    sets = add(root, "Sets")
    for _ in range(data.draw(st.integers(0, 2))):
        item = add(sets, "Set", guid=data.draw(GUID), name=data.draw(XML_TEXT))
        add(item, data.draw(st.sampled_from(["MemberCode", "MemberSource", "MemberNote"])), targetGUID=data.draw(GUID))
    member = data.draw(st.one_of(st.binary(max_size=200), XML_TEXT.map(str.encode)), label="file.txt")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8"), member


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def import_study(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"imports-{request.param}")
    database = _database(request.param, request, tmp)
    (tmp / "study.yaml").write_text(f"title: Any project\ncorpus:\n  database: {database}\n", encoding="utf-8")
    return load_study(tmp / "study.yaml")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_value_in_any_imported_field_is_imported_or_one_clear_error(import_study, data) -> None:
    from sibkit.interop import import_qdpx

    project, member = _project(data)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", project)
        archive.writestr("sources/file.txt", member)
    path = import_study.base_dir / "any.qdpx"
    path.write_bytes(buffer.getvalue())
    try:
        result = import_qdpx(path, import_study)
    except SibkitError as exc:
        assert "\n" not in str(exc)
        return
    assert all("\n" not in p for p in result.problems)
