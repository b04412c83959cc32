"""The case x theme matrix, group comparison, statistics, sensitivity and the replication of a
published result."""

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
    detectable_difference,
    expand_themes,
    fisher_power,
    newcombe_interval,
    overall_relative_association,
    replication_table,
    small_group_warnings,
    verdict,
    with_families,
)

__all__ = ["FINDING_COLUMNS", "Settings", "associate", "average_relative_difference", "bootstrap_interval",
           "compare", "detectable_difference", "expand_themes", "fisher_power", "newcombe_interval",
           "overall_relative_association", "permutation_p", "replication_table", "sensitivity",
           "small_group_warnings", "verdict", "with_families"]
