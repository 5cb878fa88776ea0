"""Pure helpers the benchmarks share: medians, ratios, interleaved run orders, wrk output."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def median(values: Sequence[float]) -> float:
    """The median of ``values``; raises ``ValueError`` when there are none."""
    if not values:
        raise ValueError("median of no values")
    return float(statistics.median(values))


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; 1.0 for 0/0 (equally nothing), ``inf`` for x/0."""
    if denominator == 0:
        return 1.0 if numerator == 0 else math.inf
    return numerator / denominator


def interleaved(names: Sequence[str], rounds: int) -> list[tuple[int, str]]:
    """``(round, name)`` in run order: forward, then backward, then forward...

    Alternating the direction (A B C, C B A, A B C) puts every configuration at the
    same mean position over an even number of rounds, so a slow drift of the machine
    (another tenant's load, thermal state) does not favour any of them.
    """
    order: list[tuple[int, str]] = []
    for number in range(rounds):
        sequence = names if number % 2 == 0 else list(reversed(names))
        order.extend((number, name) for name in sequence)
    return order


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run reported."""

    requests_per_second: float
    requests: int
    errors: int  # connect/read/write/timeout socket errors plus non-2xx/3xx answers


_UNITS = {"": 1, "k": 1_000, "m": 1_000_000}


def parse_wrk(output: str) -> WrkResult:
    """Read requests/s, the request count and the errors from wrk's text report.

    Raises ``ValueError`` when the report has no ``Requests/sec`` line.
    """
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    if rate is None:
        raise ValueError(f"not a wrk report: {output[-500:]!r}")
    total = re.search(r"^\s*(\d+) requests in", output, re.MULTILINE)
    errors = 0
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output, re.MULTILINE
    )
    if socket is not None:
        errors += sum(int(count) for count in socket.groups())
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if bad is not None:
        errors += int(bad.group(1))
    return WrkResult(float(rate.group(1)), int(total.group(1)) if total else 0, errors)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (fits the README and a terminal alike)."""
    cells = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(lines)
