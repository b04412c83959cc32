"""What the evidence is: per case and kind of document, how many are *listed* (INDIGO's reading
list), *held* (readable in the study's corpus) and *coded* (coded with the codebook).

Kinds come from the one vocabulary, ``sibkit.kinds`` (a held document's declared type; otherwise
INDIGO's source type, then words of the title and the address); tables show their labels. Each
case's INDIGO record is a kind of its own ("INDIGO record"): a database description, not an
evaluation document.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import select

from sibkit import kinds as vocabulary
from sibkit.corpus.status import linked_documents
from sibkit.store import CodingState, Store

INDIGO_RECORD = vocabulary.label(vocabulary.INDIGO_RECORD)
#: the kinds as tables show them (labels of ``sibkit.kinds``), in the vocabulary's order
KINDS = tuple(kind.label for kind in vocabulary.KINDS)


def document_kind(title: str | None, url: str | None = None, source_type: str | None = None,
                  declared: str | None = None) -> str:
    """The label of a listed or held document's kind (``sibkit.kinds.infer_kind``)."""
    return vocabulary.label(vocabulary.infer_kind(title, url, source_type, declared))


def coded_document_ids(store: Store) -> set[int]:
    """Documents coded with at least one theme."""
    with store.session() as session:
        return set(session.execute(select(CodingState.document_id).distinct()).scalars())


def evidence_table(store: Store, listed: pd.DataFrame, case_ids: Sequence[str]) -> pd.DataFrame:
    """Long table case_id, kind, listed, held, coded (only rows with a non-zero count).

    ``listed``: the reading list (case_id, title, url, source_type), e.g.
    ``sibkit.study.selection.reading_list(dataset)``."""
    wanted = list(case_ids)
    counts: dict[tuple[str, str], dict[str, int]] = {}

    def bump(case_id: str, kind: str, column: str) -> None:
        counts.setdefault((case_id, kind), {"listed": 0, "held": 0, "coded": 0})[column] += 1

    own = listed[listed["case_id"].isin(wanted)]
    for row in own.to_dict("records"):
        bump(row["case_id"], document_kind(_text(row.get("title")), _text(row.get("url")),
                                           _text(row.get("source_type"))), "listed")
    coded = coded_document_ids(store)
    links = linked_documents(store)
    links = links[links["case_id"].isin(wanted) & (links["status"] == "ok")]
    for row in links.to_dict("records"):
        origin = str(row["origin"] or "")
        kind = document_kind(row["title"], origin if origin.startswith(("http://", "https://")) else None,
                             declared=row["doc_type"])
        bump(row["case_id"], kind, "held")
        if int(row["document_id"]) in coded:
            bump(row["case_id"], kind, "coded")
    order = {case_id: i for i, case_id in enumerate(wanted)}
    rows = [{"case_id": case_id, "kind": kind, **values} for (case_id, kind), values in counts.items()]
    table = pd.DataFrame(rows, columns=["case_id", "kind", "listed", "held", "coded"])
    if table.empty:
        return table
    table["_case"] = table["case_id"].map(order)
    table["_kind"] = table["kind"].map({k: i for i, k in enumerate(KINDS)})
    return table.sort_values(["_case", "_kind"]).drop(columns=["_case", "_kind"]).reset_index(drop=True)


def evidence_by_case(table: pd.DataFrame, case_ids: Sequence[str]) -> pd.DataFrame:
    """Per case: listed, held, coded in all; coded INDIGO records; coded documents other than the record;
    ``record_only`` when the record is all that was coded for the case."""
    by_case: dict[object, list[tuple[object, int, int, int]]] = {}  # grouped once (per-case filters are slow)
    for case, kind, listed, held, coded in zip(table["case_id"], table["kind"], table["listed"], table["held"],
                                               table["coded"], strict=True):
        by_case.setdefault(case, []).append((kind, int(listed), int(held), int(coded)))
    rows = []
    for case_id in case_ids:
        own = by_case.get(case_id, [])
        coded_other = sum(coded for kind, _, _, coded in own if kind != INDIGO_RECORD)
        rows.append({"case_id": case_id, "listed": sum(row[1] for row in own), "held": sum(row[2] for row in own),
                     "coded": sum(row[3] for row in own),
                     "coded_indigo_record": sum(coded for kind, _, _, coded in own if kind == INDIGO_RECORD),
                     "coded_documents": coded_other, "record_only": coded_other == 0})
    return pd.DataFrame(rows, columns=["case_id", "listed", "held", "coded", "coded_indigo_record", "coded_documents",
                                       "record_only"])


def evidence_by_kind(table: pd.DataFrame) -> pd.DataFrame:
    """Totals over cases per kind (a document serving two cases counts for each)."""
    if table.empty:
        return pd.DataFrame(columns=["kind", "listed", "held", "coded"])
    totals = table.groupby("kind")[["listed", "held", "coded"]].sum()
    return totals.reindex([k for k in KINDS if k in totals.index]).reset_index()


def _text(value: object) -> str | None:
    return None if value is None or value is pd.NA or (isinstance(value, float) and value != value) else str(value)
