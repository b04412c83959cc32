"""Which references the learned reader touched, for counting them (read by ``coding.coder.references``).

A proposal is a reference with origin ``semantic`` whose ``Suggestion`` names the learned reader; a flag is a
``ReaderScore`` row with ``flagged`` set. Neither changes what counts unless the study says
``reader.count_unreviewed`` (then, before review, a proposal counts and a flagged keyword hit does not).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sibkit.store.models import ReaderScore, Suggestion

READER_MODEL = "sibkit learned reader"
READER_TERM = "(learned reader)"  # the term of a proposal (a reference with origin ``semantic``)


def reader_marks(session: Session) -> tuple[set[int], set[int]]:
    """(ids of the learned reader's proposals, ids of the keyword hits it flagged)."""
    proposals = set(session.scalars(select(Suggestion.reference_id).where(Suggestion.model.startswith(READER_MODEL))))
    flagged = set(session.scalars(select(ReaderScore.reference_id).where(ReaderScore.flagged)))
    return proposals, flagged
