"""``fetch_url``: an HTTP GET that cannot be pointed at the server's own network.

Every address a host resolves to is checked before connecting, and the connection goes to the checked
address (the host name is kept for the ``Host`` header and TLS), so a name that resolves differently a moment
later cannot slip through. Redirects are followed by hand, up to five, each checked the same way. Private,
loopback, link-local (cloud metadata at 169.254.169.254 among them), shared, multicast and reserved
addresses are refused unless the host is in ``TOOLS_FETCH_ALLOWED_HOSTS``, and so are the IPv6 forms that carry an
IPv4 address inside them (IPv4-mapped and -compatible, 6to4, Teredo, NAT64) when the address inside would be.
The body read is capped in size, and the whole fetch, reading the page's text included, in time: the text is
extracted in a child process (``chat.tools.pagetext``), off the event loop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from chat.tools.base import ToolError
from chat.tools.pagetext import Unreadable, readable_isolated

MAX_REDIRECTS = 5
USER_AGENT = "chat-server fetch_url (+https://github.com/)"


@dataclass(frozen=True, slots=True)
class FetchLimits:
    allowed_hosts: frozenset[str]
    max_bytes: int
    timeout: float


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for, by the transition schemes that route to them."""
    embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if address in _NAT64 or address in _IPV4_COMPATIBLE:
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [ipv4 for ipv4 in embedded if ipv4 is not None]


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(address)):
        # 6to4 (2002::/16) and Teredo (2001::/32) are not private by ipaddress's tables, yet reach the IPv4
        # address inside them; none of these forms is a public IPv6 server of its own.
        return address.teredo is not None or address.sixtofour is not None or any(map(_refused, embedded))
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv4Address) and address in ipaddress.ip_network("100.64.0.0/10"))
        or not address.is_global
    )


async def resolve_public(host: str, port: int, limits: FetchLimits) -> str:
    """An address of ``host`` that may be fetched: every address it resolves to must be public."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise ToolError(f"The host '{host}' could not be found.") from None
    if host.lower() in limits.allowed_hosts:
        return str(infos[0][4][0])
    addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    if not addresses or any(_refused(address) for address in addresses):
        raise ToolError(
            f"'{host}' is a private or local address; fetching it is not allowed "
            "(an admin can allow a host with TOOLS_FETCH_ALLOWED_HOSTS)."
        )
    return str(next(iter(addresses)))


def _check_url(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ToolError("Only http:// and https:// URLs can be fetched.")
    if parts.username or parts.password:
        raise ToolError("URLs with credentials are not fetched.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ToolError("The URL's port is not a number.") from None
    return parts.scheme, parts.hostname, port


async def fetch_text(url: str, limits: FetchLimits) -> str:
    """The readable text of a page (or the body of a text response), within the limits."""
    try:
        return await _fetch(url, limits)
    except TimeoutError:
        raise ToolError(f"{url} took longer than {limits.timeout:g} seconds.") from None


async def _fetch(url: str, limits: FetchLimits) -> str:
    async with asyncio.timeout(limits.timeout):
        async with httpx.AsyncClient(follow_redirects=False, timeout=limits.timeout, trust_env=False) as client:
            for _ in range(MAX_REDIRECTS + 1):
                scheme, host, port = _check_url(url)
                address = await resolve_public(host, port, limits)
                pinned = httpx.URL(url).copy_with(host=address)
                headers = {"Host": httpx.URL(url).netloc.decode("ascii"), "User-Agent": USER_AGENT}
                extensions = {"sni_hostname": host} if scheme == "https" else {}
                request = client.build_request("GET", pinned, headers=headers, extensions=extensions)
                try:
                    response = await client.send(request, stream=True)
                except httpx.HTTPError as error:
                    raise ToolError(f"Could not fetch {url}: {type(error).__name__}.") from None
                try:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code >= 400:
                        raise ToolError(f"{url} answered HTTP {response.status_code}.")
                    body = bytearray()
                    async for piece in response.aiter_bytes():
                        body += piece
                        if len(body) >= limits.max_bytes:
                            break
                    content_type = response.headers.get("content-type", "")
                    charset = response.charset_encoding or "utf-8"
                finally:
                    await response.aclose()
                try:
                    return await readable_isolated(bytes(body[: limits.max_bytes]), content_type, charset)
                except Unreadable as error:
                    raise ToolError(str(error)) from None
            raise ToolError(f"More than {MAX_REDIRECTS} redirects.")
