"""The GO Lab INDIGO impact bond dataset: loading, derived fields, figures and data quality."""

from sibkit.indigo.dataset import Dataset, LoadIssue, columns_of, to_records, write_export
from sibkit.indigo.derive import derived
from sibkit.indigo.figures import Filters, breakdown, filter_projects, headline, stats
from sibkit.indigo.loader import download, load
from sibkit.indigo.quality import QualityReport, quality

__all__ = [
    "Dataset", "Filters", "LoadIssue", "QualityReport", "breakdown", "columns_of", "derived", "download",
    "filter_projects", "headline", "load", "quality", "stats", "to_records", "write_export",
]
