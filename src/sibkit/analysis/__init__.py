"""The case x theme matrix, group comparison, statistics, sensitivity, the replication of a
published result, and the findings re-run with the instrument's measured error."""

from sibkit.analysis.compare import (
    FINDING_COLUMNS,
    Settings,
    associate,
    average_relative_difference,
    bootstrap_interval,
    compare,
    permutation_p,
    sensitivity,
)
from sibkit.analysis.replication import (
    CONSISTENT,
    NO_EVIDENCE,
    NOT_CONSISTENT,
    detectable_difference,
    expand_themes,
    family_alpha,
    fisher_power,
    newcombe_interval,
    overall_relative_association,
    ratio_interval,
    replication_table,
    small_group_warnings,
    verdict,
    with_families,
)

__all__ = ["CONSISTENT", "FINDING_COLUMNS", "NOT_CONSISTENT", "NO_EVIDENCE", "Settings", "associate",
           "average_relative_difference", "bootstrap_interval", "compare", "detectable_difference", "expand_themes",
           "family_alpha", "fisher_power", "newcombe_interval", "overall_relative_association", "permutation_p",
           "ratio_interval", "replication_table", "sensitivity", "small_group_warnings", "verdict", "with_families"]
