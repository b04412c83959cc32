"""The web app (``sibkit serve``): dashboard, map, project pages and the study's cases.

``create_app`` is imported on first use (PEP 562): the command line starts without FastAPI.
"""

from __future__ import annotations

from sibkit.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(__name__, {"create_app": "app"})
