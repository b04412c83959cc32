"""The study report: ``run_study`` gathers every result, ``write_report`` writes the folder."""

from sibkit.report.run import StudyResults, as_tables, run_study, summary, write_report

__all__ = ["StudyResults", "as_tables", "run_study", "summary", "write_report"]
