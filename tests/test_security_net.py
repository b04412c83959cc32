"""The guarded download client and the addresses Python's ``ipaddress`` calls global that are not public.

Each name comes from a test resolver. The address refused is listed after 127.0.0.1, where a test server
(trusted with ``allow_networks``) answers, so that a guard letting it through connects to 127.0.0.1 and is
caught, and no packet ever leaves 127.0.0.0/8."""

from __future__ import annotations

import pytest

from sibkit.net import GuardedClient, is_public_address
from sibkit.testing import LocalServer, Response

#: site-local IPv6 (fec0::/10, deprecated by RFC 3879 but still routed inside some networks) and the IPv6
#: documentation prefix 3fff::/20 (RFC 9637): both global to Python 3.11's ipaddress
NOT_PUBLIC = ["fec0::1", "feff:ffff::1", "3fff::1", "3fff:fff:ffff::1"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_site_local_and_documentation_ipv6_are_refused_before_connecting(address: str) -> None:
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1", address]

    with LocalServer({"/doc.txt": Response(200, b"inside", "text/plain")}) as server:
        port = server.url.rsplit(":", 1)[1]
        with GuardedClient(timeout=5, resolver=resolve, allow_networks=["127.0.0.1/32"]) as client:
            download = client.get(f"http://intranet.test:{port}/doc.txt")
        assert download.status == "refused", download
        assert address in download.message
        assert server.requests == [] and calls == ["intranet.test"]
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["2606:4700::1111", "2001:4860:4860::8888", "2a00:1450::1"])
def test_public_ipv6_stays_public(address: str) -> None:
    assert is_public_address(address)
