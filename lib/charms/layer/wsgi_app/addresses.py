"""This machine's own IP addresses, as clients that reach the unit directly name it.

They are read from the kernel (``/proc/net``), not through a hook tool: an idle hook
already makes as few hook-tool calls as it can (see ``bench/README.md``), and the kernel
knows every address the unit listens on (gunicorn binds every interface), whichever
binding or space Juju would name. Loopback and link-local addresses are left out (the
settings add ``localhost`` themselves; a link-local address is no usable host name).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

FIB_TRIE = Path("/proc/net/fib_trie")
IF_INET6 = Path("/proc/net/if_inet6")


def ipv4_local(fib_trie: str) -> set[str]:
    """The IPv4 addresses ``/proc/net/fib_trie`` marks as this host's own (``/32 host LOCAL``)."""
    found: set[str] = set()
    last = ""
    for line in fib_trie.splitlines():
        text = line.strip()
        if text.startswith("|--"):
            last = text[3:].strip()
        elif text == "/32 host LOCAL" and last:
            found.add(last)
    return found


def ipv6_global(if_inet6: str) -> set[str]:
    """The IPv6 addresses of ``/proc/net/if_inet6`` whose scope is global (``00``)."""
    found: set[str] = set()
    for line in if_inet6.splitlines():
        fields = line.split()
        if len(fields) >= 4 and len(fields[0]) == 32 and fields[3] == "00":
            found.add(":".join(fields[0][i : i + 4] for i in range(0, 32, 4)))
    return found


def usable(candidates: set[str]) -> tuple[str, ...]:
    """``candidates`` that are IP addresses, neither loopback nor link-local, canonical and
    sorted (IPv4 first); anything else in the kernel's text is dropped."""
    kept: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for candidate in candidates:
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if not (address.is_loopback or address.is_link_local or address.is_unspecified):
            kept.add(address)
    return tuple(str(a) for a in sorted(kept, key=lambda a: (a.version, int(a))))


def machine_addresses() -> tuple[str, ...]:
    """This machine's usable IP addresses; ``()`` when the kernel's tables cannot be read."""
    return usable(ipv4_local(_read(FIB_TRIE)) | ipv6_global(_read(IF_INET6)))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""
