"""Running the app: a real uvicorn server, in this thread or a background one (tests, screenshots)."""

from __future__ import annotations

import errno
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from sibkit.errors import SibkitError
from sibkit.optional import require

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--no-first-run"]
CHROMIUM = Path("/usr/bin/chromium")


SERVE_ENV = "SIBKIT_SERVE"  # how `sibkit serve --workers N` tells each worker process what to load


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` and listening, made before anything announces the address;
    a port in use (or not allowed) is one clear ``SibkitError``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise SibkitError(f"port {port} on {host} is in use (another server is listening there): "
                              "stop it or choose another with --port") from None
        if exc.errno == errno.EACCES:
            raise SibkitError(f"port {port} on {host} is not allowed for this user (ports below 1024 need "
                              "privileges): choose another with --port") from None
        raise SibkitError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def proxy_settings(trust_proxy: str | None) -> dict[str, Any]:
    """uvicorn's proxy options: ``X-Forwarded-For`` / ``-Proto`` are believed only from ``trust_proxy`` (an
    address or a comma-separated list; uvicorn's own default believes them from 127.0.0.1, so anybody on this
    machine could pick their address and escape the sign-in limit per address)."""
    if not trust_proxy:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": trust_proxy}


def serve_on(app: Any, sock: socket.socket, trust_proxy: str | None = None) -> None:
    """Serve ``app`` with uvicorn on a socket ``listen`` made, until interrupted."""
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                           **proxy_settings(trust_proxy)))
    server.run(sockets=[sock])


def serve_workers(data: str | None, host: str, port: int, workers: int, cache_bytes: int,
                  allow_hosts: list[str] | None = None, trust_proxy: str | None = None) -> None:
    """uvicorn with ``workers`` processes, each loading the dataset itself through ``app_from_environment``."""
    os.environ[SERVE_ENV] = json.dumps({"data": data, "cache_bytes": cache_bytes, "host": host,
                                        "allow_hosts": list(allow_hosts or [])})
    uvicorn.run("sibkit.web.server:app_from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False, **proxy_settings(trust_proxy))


def app_from_environment() -> Any:
    """The app for one worker process of ``serve_workers`` (a uvicorn factory): the dataset named in
    ``$SIBKIT_SERVE``, loaded in this process."""
    from sibkit.indigo import load
    from sibkit.web import create_app
    from sibkit.web.guard import allowed_hosts

    settings = json.loads(os.environ.get(SERVE_ENV) or "{}")
    hosts = allowed_hosts(settings.get("host") or "127.0.0.1", settings.get("allow_hosts") or [])
    return create_app(load(settings.get("data")), cache_bytes=int(settings.get("cache_bytes", 64 * 2**20)),
                      allowed_hosts=hosts)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class BackgroundServer:
    """uvicorn serving an app on 127.0.0.1 in a daemon thread, as ``sibkit serve`` does (``trust_proxy``: the
    address of a proxy whose ``X-Forwarded-For`` is believed); ``url`` once started."""

    def __init__(self, app: Any, port: int | None = None, trust_proxy: str | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
                                **proxy_settings(trust_proxy))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the web server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


SCREEN_WIDTHS = (1440, 390)


def screenshots(app: Any, folder: Path, project_id: str = "INDIGO-POJ-0168") -> list[Path]:
    """Full-page PNG screenshots of the dashboard (whole field and one country), the explorer and a
    project page, each at a desktop and a phone width, taken in headless Chromium."""
    sync_playwright = require("playwright.sync_api", "screenshots", "sibkit serve --screenshots").sync_playwright
    if not CHROMIUM.exists():
        raise SibkitError(f"screenshots need Chromium at {CHROMIUM}: apt-get install chromium") from None

    folder.mkdir(parents=True, exist_ok=True)
    shots = [("dashboard", "/"), ("dashboard-uk", "/?country=GB"), ("explorer", "/projects?country=GB&sort=-users"),
             ("project", f"/projects/{project_id}")]
    written = []
    with BackgroundServer(app) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        for width in SCREEN_WIDTHS:
            page = browser.new_page(viewport={"width": width, "height": 900})
            for name, path in shots:
                page.goto(server.url + path)
                target = folder / f"{name}-{width}.png"
                page.screenshot(path=str(target), full_page=True)
                written.append(target)
            page.close()
        browser.close()
    return written
