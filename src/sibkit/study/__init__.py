"""Studies: the study file, case selection with its flow of exclusions."""

from sibkit.study.model import Analysis, Outcomes, Presence, Step, Study, load_study, parse_study
from sibkit.study.selection import (
    Selection,
    distinct_documents,
    document_key,
    normalise_title,
    normalise_url,
    reading_list,
    select,
)

__all__ = ["Analysis", "Outcomes", "Presence", "Selection", "Step", "Study", "distinct_documents", "document_key",
           "load_study", "normalise_title", "normalise_url", "parse_study", "reading_list", "select"]
