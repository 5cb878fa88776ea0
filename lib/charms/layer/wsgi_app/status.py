"""What the unit tells the operator: one pure function from what happened to a status."""

from __future__ import annotations

from dataclasses import dataclass

from .releases import Release


@dataclass(frozen=True)
class Status:
    workload: str  # maintenance | waiting | blocked | active
    message: str


def serving_message(release: Release, port: int) -> str:
    return f"serving {release.description} on :{port}"


def unit_status(
    *, release: Release | None, port: int, problem: str = "", waiting: str = "", service_active: bool = True
) -> Status:
    """The status for a unit serving ``release`` (or nothing yet)."""
    if problem:
        return Status("blocked", problem)
    if release is None:
        return Status("waiting", waiting or "no release deployed yet")
    if not service_active:
        return Status("blocked", f"{release.description} is deployed but its service is not running")
    if waiting:
        return Status("waiting", f"{serving_message(release, port)}; {waiting}")
    return Status("active", serving_message(release, port))
