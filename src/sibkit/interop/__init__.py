"""Exchange with NVivo, ATLAS.ti, MAXQDA and QualCoder: REFI-QDA projects (``.qdpx``) and codebooks (``.qdc``).

Names are imported from their modules on first use (PEP 562): the command line stays quick.
"""

from __future__ import annotations

from sibkit.lazy import lazy_exports

_EXPORTS = {
    "QdpxArchive": "archive",
    "codebook_to_qdc": "codes",
    "describe_theme": "codes",
    "export_qdc": "codes",
    "import_qdc": "codes",
    "qdc_to_codebook": "codes",
    "ExportSummary": "export",
    "export_qdpx": "export",
    "project_files": "export",
    "QdpxImport": "importer",
    "import_project": "importer",
    "import_qdpx": "importer",
    "QdaProject": "reader",
    "read_qdpx": "reader",
    "stable_guid": "guids",
    "validation_errors": "xmlsafe",
}


__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
