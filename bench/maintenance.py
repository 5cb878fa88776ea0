"""What maintenance mode's wrapper costs a request: the app called bare, through the
wrapper with the mode off (one ``stat`` of a missing file) and on (one ``stat``, the page
cached), side by side in interleaved rounds, in this process (no machine, no network).

Printed: per configuration, the median time per call over the rounds and its ratio to
the bare app's. Bounded: ``--rounds`` x ``--calls`` calls of a few microseconds each.

Run: ``.venv/bin/python -m bench.maintenance [--rounds 7] [--calls 20000]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.machine import ROOT
from bench.stats import interleaved, median, ratio, table

WRAPPER = ROOT / "files" / "wsgi_app_maintenance.py"
ENVIRON = {"PATH_INFO": "/orders", "SCRIPT_NAME": "", "REQUEST_METHOD": "GET"}


def bare(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _wrapper() -> Any:
    spec = importlib.util.spec_from_file_location("wsgi_app_maintenance", WRAPPER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def per_call(app: Callable[..., Any], calls: int) -> float:
    """Seconds per call of ``app`` over ``calls`` calls."""
    start_response = lambda status, headers: None  # noqa: E731 - the cheapest callable
    began = time.perf_counter()
    for _ in range(calls):
        app(dict(ENVIRON), start_response)
    return (time.perf_counter() - began) / calls


def run(rounds: int = 7, calls: int = 20_000) -> str:
    wrapper = _wrapper()
    with tempfile.TemporaryDirectory() as scratch:
        on_flag = Path(scratch) / "on.html"
        on_flag.write_bytes(b"<p>back soon</p>")
        apps = {
            "bare app": bare,
            "wrapped, mode off": wrapper.WsgiMaintenance(bare, wrapper.Flag(str(Path(scratch) / "off")), ""),
            "wrapped, mode on": wrapper.WsgiMaintenance(bare, wrapper.Flag(str(on_flag)), ""),
        }
        times: dict[str, list[float]] = {name: [] for name in apps}
        for _, name in interleaved(list(apps), rounds):
            times[name].append(per_call(apps[name], calls))
    base = median(times["bare app"])
    rows = [(name, f"{median(t) * 1e6:.2f}", f"{ratio(median(t), base):.2f}") for name, t in times.items()]
    header = f"{rounds} interleaved rounds of {calls} calls each, medians\n\n"
    return header + table(["configuration", "µs per call", "ratio to bare"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    print(run(args.rounds, args.calls))


if __name__ == "__main__":
    main()
