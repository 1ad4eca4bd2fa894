"""Who is asking: the real client address behind our own reverse proxies.

settings.TRUSTED_PROXY_COUNT says how many proxies we run in front of Django
(Varnish, a load balancer). Each one appends the address it received the
request from to X-Forwarded-For, so the client is the entry that many places
from the right; anything further left was written by the client and is not
believed. With no trusted proxy the header is ignored altogether.

Limits (login throttling, feedback) count an IPv6 client per /64 network, the
block one household or device usually gets, so rotating addresses inside it
does not buy more attempts.
"""

import ipaddress

from django.conf import settings

IPV6_NETWORK_PREFIX = 64


def _parse(value: str):
    """An address, also when a proxy wrote it with a port: "[2001:db8::1]:443",
    "203.0.113.5:1234"."""
    value = value.strip()
    if value.startswith("["):
        value = value[1:].split("]")[0]
    elif value.count(":") == 1:
        value = value.split(":")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_ip(request) -> str:
    """The client's address as our outermost trusted proxy saw it."""
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    chain = [part.strip() for part in forwarded if part.strip()] + [remote]
    # chain[-1] is the proxy talking to us; each trusted proxy adds one entry.
    candidate = chain[-(trusted + 1)] if len(chain) > trusted else chain[0]
    address = _parse(candidate)
    return str(address) if address is not None else remote


def client_key(request) -> str:
    """The address limits are counted on: the IPv4 address, or the IPv6 /64 network
    (written as its first address, so it is still a valid IP for storage)."""
    address = _parse(client_ip(request))
    if address is None:
        return ""
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        network = ipaddress.ip_network(f"{address}/{IPV6_NETWORK_PREFIX}", strict=False)
        return str(network.network_address)
    return str(address)
