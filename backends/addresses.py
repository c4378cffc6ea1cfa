"""Which hosts a download may reach: origins, DNS resolution off the loop, and the public-address test."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Awaitable, Callable, Iterable, Optional
from urllib.parse import urlsplit

# host, port → the IP addresses the host resolves to
Resolver = Callable[[str, int], Awaitable[list[str]]]

_DEFAULT_PORTS = {"http": 80, "https": 443}


async def system_resolver(host: str, port: int) -> list[str]:
    """The system's DNS answer, through the event loop's executor (getaddrinfo blocks)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def origin_of(url: str) -> Optional[tuple[str, str, int]]:
    """(scheme, host, port) with the default port filled in, or None for a non-http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower().rstrip("."), port or _DEFAULT_PORTS[scheme]


def origins(urls: Iterable[str]) -> frozenset[tuple[str, str, int]]:
    return frozenset(o for o in (origin_of(u) for u in urls) if o)


# IPv6 ranges whose addresses carry an IPv4 address a router or translator will reach:
# NAT64 well-known and local-use prefixes (RFC 6052, RFC 8215), 6to4 (RFC 3056), Teredo (RFC 4380,
# obfuscated client address), and the deprecated IPv4-compatible ::a.b.c.d / SIIT ::ffff:0:a.b.c.d.
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_SIIT = ipaddress.IPv6Network("::ffff:0:0:0/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address embeds (none for an ordinary IPv6 address)."""
    found = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # (server, client): either one is an IPv4 the packet may reach
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if any(ip in net for net in (*_NAT64, _SIIT)) or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        found.append(low32)
    return found


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address. Loopback, private, link-local (cloud
    metadata 169.254.169.254 included), shared (100.64/10, Alibaba's metadata), multicast,
    reserved and unspecified addresses are not; an IPv6 address that embeds an IPv4 address
    (mapped, compatible, NAT64, 6to4, Teredo) is public only if every IPv4 it embeds is."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = embedded_ipv4(ip)
        if embedded:
            return all(_is_public(v4) for v4 in embedded)
    return _is_public(ip)


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast


def literal_ip(host: str) -> Optional[str]:
    """The host itself when it is an IP literal (brackets stripped), else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]").split("%", 1)[0]))
    except ValueError:
        return None
