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


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address. Loopback, private, link-local (cloud
    metadata 169.254.169.254 included), shared (100.64/10, Alibaba's metadata), multicast,
    reserved and unspecified addresses are not; IPv4-mapped IPv6 is judged by its IPv4."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def literal_ip(host: str) -> Optional[str]:
    """The host itself when it is an IP literal (brackets stripped), else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]").split("%", 1)[0]))
    except ValueError:
        return None
