"""The guarded download client against hostile URLs and servers (all served on 127.0.0.x; private
and link-local addresses only ever come from a fake resolver, and are refused before connecting)."""

from __future__ import annotations

import gzip
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from sibkit.net import GuardedClient, is_public_address, parse_url
from sibkit.testing import LocalServer, Response


def refusing_resolver(host: str, port: int) -> list[str]:
    raise OSError("no DNS in this test")


def fake_dns(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return table[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


def test_local_download_needs_allow_private() -> None:
    with LocalServer({"/doc.txt": Response(200, b"hello", "text/plain")}) as server:
        with GuardedClient(timeout=5) as client:
            refused = client.get(f"{server.url}/doc.txt")
        assert refused.status == "refused"
        assert "127.0.0.1" in refused.message
        assert server.requests == []
        with GuardedClient(timeout=5, allow_private=True) as client:
            fetched = client.get(f"{server.url}/doc.txt")
    assert (fetched.status, fetched.body, fetched.content_type) == ("ok", b"hello", "text/plain")
    assert server.requests == ["/doc.txt"]


def test_private_link_local_and_embedded_addresses_are_refused_before_connecting() -> None:
    table = {"metadata.test": ["169.254.169.254"], "intranet.test": ["10.1.2.3"], "home.test": ["192.168.0.1"],
             "cgnat.test": ["100.64.0.1"], "v6-link.test": ["fe80::1"], "v6-ula.test": ["fd00::5"],
             "mapped.test": ["::ffff:127.0.0.1"], "sixtofour.test": ["2002:7f00:1::1"],
             "nat64.test": ["64:ff9b::a9fe:a9fe"], "multicast.test": ["224.0.0.1"], "zero.test": ["0.0.0.0"],
             "v6-loop.test": ["::1"], "mixed.test": ["93.184.216.34", "172.16.0.9"], "reserved.test": ["240.0.0.1"]}
    resolver = fake_dns(table)
    with GuardedClient(timeout=2, resolver=resolver) as client:
        for host in table:
            started = time.monotonic()
            download = client.get(f"http://{host}/latest/meta-data/")
            assert download.status == "refused", (host, download)
            assert time.monotonic() - started < 1.0
    assert resolver.calls == list(table)  # type: ignore[attr-defined]
    assert is_public_address("93.184.216.34") and is_public_address("2606:4700::1")
    assert not is_public_address("127.0.0.2")


def test_redirects_to_internal_addresses_are_refused_at_every_hop() -> None:
    with LocalServer({"/secret": Response(200, b"internal", "text/plain")}, host="127.0.0.2") as internal:
        routes = {"/to-internal": Response(302, b"", headers={"Location": f"{internal.url}/secret"}),
                  "/to-metadata": Response(301, b"", headers={"Location": "http://metadata.test/latest"}),
                  "/to-localhost": Response(307, b"", headers={"Location": f"http://localhost:{internal.port}/x"}),
                  "/to-file": Response(302, b"", headers={"Location": "file:///etc/passwd"}),
                  "/hop": Response(302, b"", headers={"Location": "/doc"}),
                  "/doc": Response(200, b"public page", "text/html")}
        with LocalServer(routes, host="127.0.0.3") as outside:
            resolver = fake_dns({"127.0.0.3": ["127.0.0.3"], "127.0.0.2": ["127.0.0.2"],
                                 "metadata.test": ["169.254.169.254"], "localhost": ["::1", "127.0.0.1"]})
            # trust only the 'outside' server's address, as if it were a public site
            with GuardedClient(timeout=5, resolver=resolver, allow_networks=["127.0.0.3/32"]) as client:
                results = {path: client.get(f"{outside.url}{path}") for path in routes if path.startswith("/to")}
                followed = client.get(f"{outside.url}/hop")
    assert internal.requests == []
    assert {path: r.status for path, r in results.items()} == {
        "/to-internal": "refused", "/to-metadata": "refused", "/to-localhost": "refused", "/to-file": "bad_url"}
    assert results["/to-internal"].redirects == [f"{internal.url}/secret"]
    assert (followed.status, followed.body, followed.redirects) == ("ok", b"public page", [f"{outside.url}/doc"])


def test_localhost_is_refused_with_the_system_resolver() -> None:
    with LocalServer({"/": Response(200, b"local", "text/plain")}) as server, GuardedClient(timeout=3) as client:
        download = client.get(f"http://localhost:{server.port}/")
    assert download.status == "refused" and server.requests == []


def test_connects_to_the_address_it_checked_not_a_rebound_one() -> None:
    answers = iter([["127.0.0.2"], ["127.0.0.3"], ["127.0.0.3"]])
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    with LocalServer({"/page": Response(200, b"checked", "text/plain")}, host="127.0.0.2") as server, \
            GuardedClient(timeout=5, resolver=rebinding, allow_networks=["127.0.0.2/32"]) as client:
        first = client.get(f"http://rebind.test:{server.port}/page")
    assert (first.status, first.body, calls) == ("ok", b"checked", ["rebind.test"])


def test_trickling_body_hits_the_overall_deadline() -> None:
    with LocalServer({"/slow": Response(200, b"x" * 200, "text/plain", byte_delay=0.25)}) as server, \
            GuardedClient(timeout=1.5, allow_private=True) as client:
        started = time.monotonic()
        download = client.get(f"{server.url}/slow")
        elapsed = time.monotonic() - started
    assert download.status == "timeout" and download.body == b""
    assert elapsed < 3.0


def test_redirect_loop_size_limit_and_gzip_bomb() -> None:
    bomb = gzip.compress(b"\0" * 5_000_000)
    routes = {"/a": Response(302, b"", headers={"Location": "/b"}),
              "/b": Response(302, b"", headers={"Location": "/a"}),
              "/big": Response(200, b"y" * 5000, "text/plain"),
              "/bomb": Response(200, bomb, "text/plain", headers={"Content-Encoding": "gzip"}),
              "/gz": Response(200, gzip.compress(b"small"), "text/plain", headers={"Content-Encoding": "gzip"}),
              "/gone": Response(404, b"no", "text/plain")}
    with LocalServer(routes) as server, GuardedClient(timeout=5, max_bytes=4096, max_redirects=3,
                                                      allow_private=True) as client:
        loop = client.get(f"{server.url}/a")
        big = client.get(f"{server.url}/big")
        bomb_result = client.get(f"{server.url}/bomb")
        small = client.get(f"{server.url}/gz")
        gone = client.get(f"{server.url}/gone")
    assert (loop.status, len(loop.redirects)) == ("too_many_redirects", 3)
    assert big.status == "too_large" and "4,096" in big.message
    assert bomb_result.status == "too_large"
    assert (small.status, small.body) == ("ok", b"small")
    assert (gone.status, gone.http_status, gone.retryable) == ("http_error", 404, False)


def test_unparseable_urls_become_statuses() -> None:
    bad = ["http://example.org/" + "a" * 70_000, "http://xn--/x", "http://exa\x00mple.org/", "http://a.test:99999/",
           "http://[::1", "ftp://example.org/f", "file:///etc/passwd", "javascript:alert(1)", "", "//no-scheme",
           "http://", "http:///path", "http://exa mple.org/"]
    with GuardedClient(timeout=2, resolver=refusing_resolver) as client:
        statuses = [client.get(url).status for url in bad]
    assert statuses[:-1] == ["bad_url"] * (len(bad) - 1)
    assert statuses[-1] in ("bad_url", "network_error")
    assert parse_url("https://Example.ORG/a b").host == "example.org"


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60) | st.builds(lambda tail: "http://" + tail, st.text(max_size=40)))
def test_any_text_as_url_never_raises(url: str) -> None:
    with GuardedClient(timeout=1, resolver=refusing_resolver) as client:
        download = client.get(url)
    assert download.status in ("bad_url", "network_error", "refused")
    assert download.line() and download.body == b""
