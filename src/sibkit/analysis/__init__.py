"""The case x theme matrix, group comparison, statistics and sensitivity."""

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

__all__ = ["FINDING_COLUMNS", "Settings", "associate", "average_relative_difference", "bootstrap_interval",
           "compare", "permutation_p", "sensitivity"]
