"""Success classification of impact bonds from outcome data, with the evidence shown."""

from sibkit.outcomes.classify import (
    CLASSES,
    INDICES,
    INSUFFICIENT,
    STRUGGLING,
    SUCCESSFUL,
    Classification,
    achievement,
    classify,
    decide,
    indices,
    parse_count,
    payment,
    sensitivity_table,
)
from sibkit.outcomes.explain import explain, explain_lines
from sibkit.outcomes.study import classify_study

__all__ = ["CLASSES", "INDICES", "INSUFFICIENT", "STRUGGLING", "SUCCESSFUL", "Classification", "achievement",
           "classify", "classify_study", "decide", "explain", "explain_lines", "indices", "parse_count", "payment",
           "sensitivity_table"]
