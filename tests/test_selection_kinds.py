"""Cases chosen by the documents that count: one vocabulary of kinds, the kinds a study counts,
items without URL or title, and URLs unwrapped from redirectors; recounted with the csv module."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from conftest import EXAMPLE
from hypothesis import given
from hypothesis import strategies as st

from sibkit import kinds
from sibkit.errors import SibkitError
from sibkit.study import load_study, normalise_title, normalise_url, parse_study, select
from sibkit.study.selection import has_title, unwrap_url
from sibkit.testing import run_cli

# --- an independent reading of INDIGO's reading lists (csv module, plain string operations) -------------

_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"\])]+")
_PAGES = re.compile(r"\b(?:pp?\.|pages?\b|slides?\b)\s*\d+(?:\s*(?:-|–|,|&|and)\s*\d+)*", re.IGNORECASE)


def url_key(url: str) -> str:
    url = re.sub(r"\[[^\]]*access[^\]]*\]", "", url, flags=re.IGNORECASE).strip().rstrip(".,;")
    url = url.split("#")[0].split("://", 1)[-1]
    host, _, rest = url.partition("/")
    host = host.lower().removeprefix("www.").removesuffix(":80").removesuffix(":443")
    path, _, query = rest.partition("?")
    query = "&".join(sorted(query.split("&"))) if query else ""
    return "url:" + host + ("/" + path if path else "").rstrip("/") + ("?" + query if query else "")


def title_key(title: str) -> str:
    title = re.sub(r"[\[(]\s*(?:last\s+)?access(?:ed)?\b[^\])]*[\])]", "", title, flags=re.IGNORECASE)
    title = _PAGES.sub(" ", title)
    return "title:" + " ".join("".join(c if c.isalnum() else " " for c in title.casefold()).split())


def kind_of(title: str, url: str, source_type: str) -> str:
    """The kind rule of sibkit.kinds, written out again for the counted kinds' sake."""
    indigo = {"evaluation report": "evaluation", "press release": "news", "news piece": "news",
              "contract": "contract_notice", "email correspondence": "correspondence"}.get(source_type.lower())
    if indigo:
        return indigo
    parts = urlsplit(url) if url else None
    path = parts.path.lower() if parts else ""
    host = (parts.hostname or "") if parts else ""
    if "case-stud" in path:
        return "case_study"
    if "/blog" in path:
        return "commentary"
    if "/news" in path or "press-release" in path:
        return "news"
    if host.endswith(("contractsfinder.service.gov.uk", "find-tender.service.gov.uk", "ted.europa.eu")):
        return "contract_notice"
    if host.endswith(("grantnav.threesixtygiving.org", "sibdatabase.socialfinance.org.uk")):
        return "data_record"
    for words, kind in ((r"\bevaluat", "evaluation"), (r"\bcase[ -]?stud", "case_study"),
                        (r"\b(review|lessons[ -]learn)", "review"),
                        (r"\b(journal|academic article|working paper|book chapter)\b", "article"),
                        (r"\b(blogs?|opinion|commentary)\b", "commentary"), (r"\b(news|press release)", "news"),
                        (r"\b(contracts?|tender|notice)\b", "contract_notice"),
                        (r"\b(data portal|database|grantnav|awards spreadsheet|awards from|grant awards)\b",
                         "data_record"),
                        (r"\b(report|memorandum|briefing|factsheet)\b", "report")):
        if re.search(words, title, re.IGNORECASE) or re.search(words, path, re.IGNORECASE):
            return kind
    return "other"  # (correspondence, updates, web pages: never counted in these tests)


def reading_lists(indigo_dir: Path) -> dict[str, dict[str, tuple[str, bool, bool]]]:
    """Per case, per distinct document key: (kind, has a URL, has a title besides its address)."""
    rows: list[tuple[str, str, str, str]] = []
    with (indigo_dir / "projects_documents.csv").open(encoding="utf-8") as handle:
        rows += [(r["Project ID"], r["Title - (Value)"].strip(), r["URL - (Value)"].strip(), "")
                 for r in csv.DictReader(handle)]
    with (indigo_dir / "projects_sources.csv").open(encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            name = r["Name - (Value)"].strip()
            in_name = _URL_IN_TEXT.search(name)
            url = (r["URL - (Value)"].strip() or (in_name.group(0) if in_name else "")
                   or r["Archive URL - (Value)"].strip())
            rows.append((r["Project ID"], name, url, r["Type - (Value)"].strip()))
    cases: dict[str, dict[str, tuple[str, bool, bool]]] = {}
    for case, title, url, source_type in rows:
        key = url_key(url) if url else title_key(title) if title_key(title) != "title:" else None
        if key is None:
            continue
        titled = title_key(_URL_IN_TEXT.sub(" ", title)) != "title:"
        kind = kind_of(title, url, source_type)
        known = cases.setdefault(case, {}).get(key)
        if known is None or (known[0] == "other" and kind != "other"):
            cases[case][key] = (kind, bool(url), titled or (known[2] if known else False))
    return cases


def entering_the_document_step(example_study) -> list[str]:
    flow = select(example_study)
    return [cid for cid in flow.cases["case_id"] if flow.cases.set_index("case_id").at[cid, "step"] in (
        "selected", flow.flow["step"].iloc[-1])]


@pytest.fixture(scope="module")
def listed(indigo_dir: Path) -> dict[str, dict[str, tuple[str, bool, bool]]]:
    return reading_lists(indigo_dir)


@pytest.fixture()
def example_study(dataset):
    study = load_study(EXAMPLE)
    study._dataset = dataset
    return study


def with_step(dataset, options: str):
    text = EXAMPLE.read_text(encoding="utf-8")
    start = text.index("  - min_documents: 4")
    end = text.index("\n\noutcomes:")
    study = parse_study(text[:start] + f"  - {{min_documents: 4, {options}}}" + text[end:])
    study._dataset = dataset
    return study


# --- the figures --------------------------------------------------------------------------------------

def test_the_issue_figure_five_cases_reach_four_evaluations_case_studies_reviews_or_reports(
        dataset, example_study, listed) -> None:
    study = with_step(dataset, "kinds: [evaluation, case study, review, report], without_url: true")
    entering = entering_the_document_step(example_study)
    assert len(entering) == 68
    wanted = {"evaluation", "case_study", "review", "report"}
    expected = sorted(cid for cid in entering
                      if sum(kind in wanted for kind, _, _ in listed.get(cid, {}).values()) >= 4)
    # two programmes: MHEP (0118, 0309, 0316 list the same documents) and West London Zone (0162, 0318)
    assert expected == ["INDIGO-POJ-0118", "INDIGO-POJ-0162", "INDIGO-POJ-0309", "INDIGO-POJ-0316",
                        "INDIGO-POJ-0318"]
    assert select(study).selected == expected


def test_the_default_kinds_with_a_url_leave_five_cases(example_study, listed) -> None:
    selection = select(example_study)
    entering = entering_the_document_step(example_study)
    wanted = set(kinds.STUDY_KINDS)
    counted = {cid: sum(kind in wanted and url and titled for kind, url, titled in listed.get(cid, {}).values())
               for cid in entering}
    expected = sorted(cid for cid, n in counted.items() if n >= 4)
    assert expected == ["INDIGO-POJ-0113", "INDIGO-POJ-0118", "INDIGO-POJ-0123", "INDIGO-POJ-0309",
                        "INDIGO-POJ-0316"]
    assert selection.selected == expected
    cases = selection.cases.set_index("case_id")
    assert {cid: int(cases.at[cid, "counted_documents"]) for cid in entering} == counted
    # the 0113 four by hand: GO Lab's two in-depth reviews, its blog and POLITICO's "case study"
    assert cases.at["INDIGO-POJ-0113", "counted"] == "case study 1; review 2; commentary 1"


def test_every_item_counted_gives_the_old_43_and_matches_an_independent_distinct_count(
        dataset, example_study, listed) -> None:
    study = with_step(dataset, "kinds: all, without_url: true, without_title: true")
    selection = select(study)
    entering = entering_the_document_step(example_study)
    cases = selection.cases.set_index("case_id")
    assert {cid: int(cases.at[cid, "distinct_documents"]) for cid in entering} == {
        cid: len(listed.get(cid, {})) for cid in entering}
    assert len(selection.selected) == 43
    assert selection.flow["step"].iloc[-1] == "at least 4 distinct documents"
    # 0118's Ecorys in-depth review is cited alone on pages 2, 4, 5, 6 and 9: one document, not five
    ecorys = ("title:ecorys in depth review mental health and employment partnership mhep commissioning better "
              "outcomes evaluation 2017")
    assert ecorys in listed["INDIGO-POJ-0118"]
    assert ecorys in set(selection.items.loc[selection.items["case_id"] == "INDIGO-POJ-0118", "key"])


def test_items_without_a_url_count_only_when_the_study_says_so(dataset, listed) -> None:
    plain = select(with_step(dataset, "kinds: [evaluation]"))
    lenient = select(with_step(dataset, "kinds: [evaluation], without_url: true"))
    mhep = "INDIGO-POJ-0118"
    evaluations = [(url, titled) for kind, url, titled in listed[mhep].values() if kind == "evaluation"]
    assert len(evaluations) == 6 and sum(url for url, _ in evaluations) == 1  # five Ecorys citations, no URL
    for selection, expected in ((plain, 1), (lenient, 6)):
        assert int(selection.cases.set_index("case_id").at[mhep, "counted_documents"]) == expected
    table = plain.kind_table([mhep]).set_index("kind")
    assert table.at["evaluation", "not_counted_no_url"] == 5 and table.at["evaluation", "counted"] == 1
    assert plain.cases.set_index("case_id").at[mhep, "not_counted"].endswith("no URL: 5")


def test_an_item_that_is_only_an_address_counts_only_when_the_study_says_so(dataset) -> None:
    # INDIGO-POJ-0001 source1 is a bare address ("https://beccarvarela.com/...pdf [Access: 22 jul 2019]")
    assert not has_title("https://beccarvarela.com/wp-content/uploads/2019/01/ll_bis_09-01-2019.pdf "
                         "[Access: 22 jul 2019]")
    assert has_title("(Depaul UK, accessed on 20 August 2019): https://uk.depaulcharity.org/new-service-i-aspire")
    study = parse_study("selection: [{min_documents: 1, kinds: all, without_url: true}]")
    study._dataset = dataset
    items = select(study).items
    bare = items[(items["case_id"] == "INDIGO-POJ-0001") & items["url"].fillna("").str.contains("ll_bis_09")]
    assert list(bare["why_not_counted"]) == ["no title"]
    study = parse_study("selection: [{min_documents: 1, kinds: all, without_url: true, without_title: true}]")
    study._dataset = dataset
    items = select(study).items
    assert bool(items[(items["case_id"] == "INDIGO-POJ-0001")
                      & items["url"].fillna("").str.contains("ll_bis_09")]["counted"].iloc[0])


def test_the_report_reads_the_kinds_counted_from_the_selection(example_study) -> None:
    selection = select(example_study)
    assert selection.kinds_counted_labels == ["evaluation", "case study", "review", "commentary", "academic article"]
    assert selection.counting is not None and selection.counting.minimum == 4
    table = selection.kind_table()  # the 5 selected cases
    assert int(table["counted"].sum()) == int(selection.cases.set_index("case_id").loc[
        selection.selected, "counted_documents"].sum()) == 4 + 5 + 4 + 5 + 5


# --- the vocabulary -----------------------------------------------------------------------------------

def test_one_vocabulary_of_kinds() -> None:
    assert kinds.parse_kind("Case study") == kinds.parse_kind("case-study") == "case_study"
    assert kinds.parse_kind("academic article") == kinds.parse_kind("article") == "article"
    assert kinds.parse_kind("INDIGO record") == "indigo_record"
    with pytest.raises(ValueError, match="'pamphlet' is not a kind of document; kinds are evaluation, case_study"):
        kinds.parse_kind("pamphlet")
    assert kinds.label("news") == "news or press release" and kinds.label("case_study") == "case study"
    assert kinds.phrase(["evaluation", "case_study", "article"]) == "evaluations, case studies or academic articles"
    from sibkit.store import DOCUMENT_TYPES

    assert DOCUMENT_TYPES == kinds.IDS  # the database stores the same names


@pytest.mark.parametrize(("title", "url", "source_type", "expected"), [
    ("Evaluation report - GM Rough Sleeping SIB", "https://example.org/x.pdf", "Evaluation report", "evaluation"),
    ("Blog - Too low for Zero", "https://golab.bsg.ox.ac.uk/community/blogs/too-low-zero/", "", "commentary"),
    ("UK Contracts Finder – OCDS", "https://www.contractsfinder.service.gov.uk/Published/notice/x.json", "Website",
     "contract_notice"),
    ("DCMS Data Portal for the Life Chances Fund", None, "Website", "data_record"),
    ("Hack and Learn - August 2021", None, "", "project_update"),
    ("Email communication with project lead.", None, "", "correspondence"),
    ("Briefing on the Mayor's rough sleeping services", "https://www.london.gov.uk/x.pdf", "Report", "report"),
    ("Bridges Fund Management", None, "", "other"),
])
def test_kinds_from_indigo_types_titles_and_addresses(title: str, url: str | None, source_type: str,
                                                      expected: str) -> None:
    assert kinds.infer_kind(title, url, source_type or None) == expected


def test_kinds_in_the_study_file_are_checked() -> None:
    study = parse_study("selection: [{min_documents: 2, kinds: [Evaluations, case-study]}]")
    assert study.selection[0].counted_kinds == ("evaluation", "case_study")
    with pytest.raises(SibkitError, match=r"selection\[0\]\.kinds: 'pamphlet' is not a kind of document"):
        parse_study("selection: [{min_documents: 2, kinds: [pamphlet]}]", "s.yaml")
    with pytest.raises(SibkitError, match="kinds, without_url go with min_documents, not with countries"):
        parse_study("selection: [{countries: [GB], kinds: [review], without_url: true}]", "s.yaml")


def test_every_command_lists_every_kind() -> None:
    done = run_cli("corpus", "add", "--help")
    assert done.returncode == 0, done.stderr
    shown = " ".join(re.sub(r"[│╭╮╰╯─]", " ", done.stdout).split())
    assert all(kind in shown for kind in kinds.IDS)
    assert "counts only the kinds it names (by default evaluation, case_study, review, commentary, article)" in shown


# --- URLs ----------------------------------------------------------------------------------------------

GOOGLE = ("https://www.google.com/url?sa=t&rct=j&q=&esrc=s&source=web&cd=5&ved=2ahUKEwjmkfO&url=https%3A%2F%2Fwww."
          "tnlcommunityfund.org.uk%2Fmedia%2Fdocuments%2FCBO_grant_awards.xls%3Fmtime%3D20190228100344&usg=AOv")


@pytest.mark.parametrize(("wrapped", "target"), [
    (GOOGLE, "https://www.tnlcommunityfund.org.uk/media/documents/CBO_grant_awards.xls?mtime=20190228100344"),
    ("https://www.google.co.uk/url?q=https://example.org/report.pdf&sa=U", "https://example.org/report.pdf"),
    ("https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.org%2Fa&h=AT0", "https://example.org/a"),
    ("https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fexample.org%2Fb&data=x",
     "https://example.org/b"),
    ("https://duckduckgo.com/l/?uddg=https%3A%2F%2Fexample.org%2Fc&rut=1", "https://example.org/c"),
    ("https://urldefense.proofpoint.com/v2/url?u=https-3A__example.org_d&d=DwM", "https://example.org/d"),
    ("https://urldefense.com/v3/__https://example.org/e__;!!abc", "https://example.org/e"),
    ("https://web.archive.org/web/20190801000000/https://example.org/f", "https://example.org/f"),
    ("https://r.search.yahoo.com/_ylt=A/RV=2/RE=1/RO=10/RU=https%3a%2f%2fexample.org%2fg/RK=2/RS=x",
     "https://example.org/g"),
    ("https://www.bing.com/ck/a?!&&p=abc&u=a1aHR0cHM6Ly9leGFtcGxlLm9yZy9o&ntb=1", "https://example.org/h"),
    ("https://www.linkedin.com/redir/redirect?url=https%3A%2F%2Fexample.org%2Fi", "https://example.org/i"),
    ("https://webcache.googleusercontent.com/search?q=cache:AbC123xyz:example.org/j+words", "http://example.org/j"),
])
def test_redirectors_and_search_wrappers_are_decoded_without_the_network(wrapped: str, target: str) -> None:
    assert unwrap_url(wrapped) == target
    assert normalise_url(wrapped) == normalise_url(target)


def test_the_shared_google_redirect_leads_to_the_cbo_awards_workbook(dataset) -> None:
    from sibkit.study import reading_list

    listing = reading_list(dataset)
    wrapped = listing[listing["url"].fillna("").str.startswith("https://www.google.com/url")]
    assert sorted(wrapped["case_id"]) == ["INDIGO-POJ-0112", "INDIGO-POJ-0113", "INDIGO-POJ-0114", "INDIGO-POJ-0129"]
    assert set(wrapped["key"]) == {"url:tnlcommunityfund.org.uk/media/documents/full-cost-recovery/"
                                   "Commissioning-Better-Outcomes/CBO_grant_awards.xls?mtime=20190228100344"}


def test_an_ordinary_address_is_not_taken_for_a_wrapper() -> None:
    for url in ("https://www.google.com/search?q=https://example.org", "https://example.org/url?q=https://x.org",
                "https://web.archive.org/", "https://www.bing.com/ck/a?u=a1!!notbase64"):
        assert unwrap_url(url) == url


_paths = st.from_regex(r"/[a-z0-9]{1,8}(/[a-z0-9-]{1,8}){0,3}", fullmatch=True)


@given(host=st.from_regex(r"[a-z]{2,10}\.(org|com|gov\.uk)", fullmatch=True), path=_paths,
       wrapper=st.sampled_from(["https://www.google.com/url?q={}&sa=t", "https://l.facebook.com/l.php?u={}",
                                "https://duckduckgo.com/l/?uddg={}", "https://web.archive.org/web/2019/{raw}",
                                "https://x.safelinks.protection.outlook.com/?url={}&data=1"]),
       twice=st.booleans(), tracking=st.booleans())
def test_a_wrapped_address_has_the_key_of_the_address(host: str, path: str, wrapper: str, twice: bool,
                                                      tracking: bool) -> None:
    target = f"https://{host}{path}" + ("?utm_source=newsletter" if tracking else "")
    wrapped = wrapper.format(quote(target, safe=""), raw=target)
    if twice:
        wrapped = "https://www.google.com/url?q=" + quote(wrapped, safe="")
    assert normalise_url(wrapped) == normalise_url(f"https://{host}{path}")
    assert normalise_url(normalise_url(wrapped)) == normalise_url(wrapped)


@pytest.mark.parametrize(("title", "same_as"), [
    ('Ecorys, "In-Depth Review: MHEP" (CBO Evaluation, 2017) page 6', 'Ecorys, "In-Depth Review: MHEP" (CBO '
                                                                      'Evaluation, 2017) Page 2'),
    ("Social Impact Bond Evidence Guidance Pages 5 - 7", "Social Impact Bond Evidence Guidance"),
    ("Collective Impact in Practice - p. 3", "Collective Impact in Practice"),
])
def test_page_references_do_not_make_a_new_document(title: str, same_as: str) -> None:
    assert normalise_title(title) == normalise_title(same_as)
    assert normalise_title("Key Stage 3 outcomes") != normalise_title("Key Stage outcomes")


def test_the_example_runs_end_to_end_and_says_it_has_too_few_cases(tmp_path: Path, indigo_dir: Path) -> None:
    import os
    import subprocess
    import sys

    study = tmp_path / "uk-sibs-2016-2021.yaml"
    study.write_text(EXAMPLE.read_text(encoding="utf-8").replace("data: null", f"data: {indigo_dir}")
                     .replace("permutations: 9999", "permutations: 99").replace("bootstrap: 2000", "bootstrap: 100"),
                     encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "sibkit", "run", str(study)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "SIBKIT_DATA": str(tmp_path / "data")})
    assert done.returncode == 0, done.stderr
    assert "5 cases selected (3 insufficient data, 2 struggling)" in done.stdout
    assert "warning: no successful cases (fewer than 5)" in done.stderr
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "Warning: no successful cases (fewer than 5)" in " ".join(re.sub(r"<[^>]+>", " ", html).split())
