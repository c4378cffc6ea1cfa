"""The SSRF guard's address test: every IPv6 form that embeds an IPv4 address is judged by the
IPv4 addresses it carries (RFC 6052 NAT64, RFC 8215 local NAT64, RFC 3056 6to4, RFC 4380 Teredo,
IPv4-mapped and the deprecated IPv4-compatible / SIIT forms)."""

from __future__ import annotations

import ipaddress

import pytest

from llm2pic.backends.addresses import is_public_address

PRIVATE_V4 = ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.100.100.200",
              "0.0.0.0", "224.0.0.1", "100.64.0.1"]


def embeddings(v4: str) -> list[str]:
    n = int(ipaddress.IPv4Address(v4))
    teredo_client = n ^ 0xFFFFFFFF
    return [
        f"::ffff:{v4}",                                         # IPv4-mapped
        str(ipaddress.IPv6Address(n)),                           # IPv4-compatible ::a.b.c.d
        str(ipaddress.IPv6Address((0xFFFF << 32) | n)),         # SIIT ::ffff:0:a.b.c.d
        str(ipaddress.IPv6Address((0x64FF9B << 96) | n)),       # NAT64 64:ff9b::/96
        str(ipaddress.IPv6Address((0x64FF9B0001 << 80) | n)),   # local NAT64 64:ff9b:1::/48
        str(ipaddress.IPv6Address((0x2002 << 112) | (n << 80) | 1)),  # 6to4 2002:V4::/48
        str(ipaddress.IPv6Address((0x20010000 << 96) | (int(ipaddress.IPv4Address("65.54.227.120")) << 64)
                                  | teredo_client)),             # Teredo, client address obfuscated
    ]


@pytest.mark.parametrize("v4", PRIVATE_V4)
def test_every_ipv6_form_of_a_private_or_metadata_address_is_refused(v4):
    for form in embeddings(v4):
        assert not is_public_address(form), form


def test_public_addresses_in_translating_forms_stay_public():
    assert is_public_address("64:ff9b::808:808")
    assert is_public_address("2002:808:808::1")
    assert is_public_address("::ffff:8.8.8.8")
    assert is_public_address("2606:4700:4700::1111")
    assert not is_public_address("::1") and not is_public_address("::")
