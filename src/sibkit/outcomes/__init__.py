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
    rule_order_counts,
    sensitivity_table,
)
from sibkit.outcomes.evidence import write_evidence_template
from sibkit.outcomes.explain import explain, explain_lines
from sibkit.outcomes.judgements import read_overrides
from sibkit.outcomes.rules import PAYMENT_KINDS, TARGET_KINDS, payment_kind, target_kinds
from sibkit.outcomes.study import classify_study

__all__ = ["CLASSES", "INDICES", "INSUFFICIENT", "PAYMENT_KINDS", "STRUGGLING", "SUCCESSFUL", "TARGET_KINDS",
           "Classification", "achievement", "classify", "classify_study", "decide", "explain", "explain_lines",
           "indices", "parse_count", "payment", "payment_kind", "read_overrides", "rule_order_counts",
           "sensitivity_table", "target_kinds", "write_evidence_template"]
