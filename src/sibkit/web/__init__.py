"""The web app (``sibkit serve``): dashboard, map, project pages and the study's cases."""

from sibkit.web.app import create_app

__all__ = ["create_app"]
