"""Machine bases: which Debian release a machine boots, as Juju's ``--base`` names it.

A base is ``debian@12`` (bookworm, the default) or ``debian@13`` (trixie). Each one is a
debootstrap suite, the Python it ships (the wheels its machines get are built for it) and
its glibc (which manylinux wheels run there). A bundle's Ubuntu bases are played by the
Debian release nearest in Python and systemd, and the mapping is said aloud.
"""

from __future__ import annotations

from dataclasses import dataclass


class BaseError(ValueError):
    """A base localjuju cannot boot; the message names the ones it can."""


@dataclass(frozen=True)
class Base:
    """One bootable base: ``name`` as Juju spells it, and what its machines run."""

    name: str  # debian@13
    suite: str  # trixie: the debootstrap suite, pinned (no backports)
    python: str  # 3.13: the release's python3
    glibc: int  # 41: glibc 2.41, the newest manylinux_2_N its machines run
    systemd: int  # 257

    @property
    def abi(self) -> str:
        """The CPython ABI tag of the base's Python (``cp313``)."""
        return f"cp{self.python.replace('.', '')}"

    def platforms(self) -> tuple[str, ...]:
        """The wheel platform tags its machines run (x86_64): manylinux2014, then
        manylinux_2_17 up to the base's glibc."""
        return (
            "manylinux2014_x86_64",
            *(f"manylinux_2_{minor}_x86_64" for minor in range(17, self.glibc + 1)),
        )

    def describe(self) -> str:
        """``debian@13 (trixie: Python 3.13, systemd 257)``."""
        return f"{self.name} ({self.suite}: Python {self.python}, systemd {self.systemd})"


BASES = {
    base.name: base
    for base in (
        Base("debian@12", "bookworm", "3.11", 36, 252),
        Base("debian@13", "trixie", "3.13", 41, 257),
    )
}
DEFAULT = BASES["debian@12"]
# the Ubuntu bases charms declare, played by the Debian release nearest in Python and systemd
# (22.04: Python 3.10, systemd 249; 24.04: Python 3.12, systemd 255)
UBUNTU = {"ubuntu@22.04": "debian@12", "ubuntu@24.04": "debian@13"}


def parse(text: str) -> Base:
    """The base ``text`` names (``debian@13``; Juju's default risk ``/stable`` may follow).
    :class:`BaseError` for any other."""
    name = _without_risk(text)
    if name not in BASES:
        raise BaseError(f"base {text!r} is not supported (supported: {', '.join(BASES)})")
    return BASES[name]


def played(text: str) -> Base:
    """The base that plays a bundle's ``text``: a Debian base itself, an Ubuntu base by its
    nearest Debian release (:data:`UBUNTU`). :class:`BaseError` for any other."""
    name = _without_risk(text)
    if name in UBUNTU:
        return BASES[UBUNTU[name]]
    try:
        return parse(text)
    except BaseError:
        raise BaseError(
            f"base {text!r} is not supported (supported: {', '.join([*BASES, *UBUNTU])})"
        ) from None


def _without_risk(text: str) -> str:
    name, _, risk = text.strip().partition("/")
    return name if risk in ("", "stable") else text
