"""sibkit.testing.LocalServer keeps every packet on the machine: starting one on 127.0.0.2 (not named in
/etc/hosts) must not ask a DNS server for the address's name, as the standard library's HTTPServer does."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from sibkit.testing import LocalServer, Response


def test_server_on_127_0_0_2_makes_no_reverse_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def no_reverse_lookup(address: str) -> tuple[str, list[str], list[str]]:
        asked.append(address)
        raise OSError("a reverse lookup would send a query to the DNS server")

    monkeypatch.setattr(socket, "gethostbyaddr", no_reverse_lookup)
    with LocalServer({"/page": Response(200, b"here", "text/plain")}, host="127.0.0.2") as server:
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy, whatever the environment
        with direct.open(f"{server.url}/page", timeout=5) as answer:
            body = answer.read()
    assert asked == []
    assert (body, server.requests) == (b"here", ["/page"])
