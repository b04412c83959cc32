"""Success classification of impact bonds from outcome data, with the evidence shown."""

from sibkit.outcomes.classify import (
    CLASSES,
    INSUFFICIENT,
    STRUGGLING,
    SUCCESSFUL,
    Classification,
    achievement,
    classify,
    decide,
    parse_count,
    payment,
    sensitivity_table,
)
from sibkit.outcomes.study import classify_study

__all__ = ["CLASSES", "INSUFFICIENT", "STRUGGLING", "SUCCESSFUL", "Classification", "achievement", "classify",
           "classify_study", "decide", "parse_count", "payment", "sensitivity_table"]
