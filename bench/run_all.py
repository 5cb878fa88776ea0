"""Run every benchmark one after the other and write their reports into one summary.

Run: ``make bench`` (root; about 25 minutes), or ``.venv/bin/python -m bench.run_all``.
The summary is printed and written to ``build/bench/summary.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable

from bench import hook_cost, lost_requests, scale, static_files, throughput
from bench.machine import ROOT, host_facts, require_root

BENCHMARKS: dict[str, Callable[[], str]] = {
    "throughput": throughput.run,
    "lost_requests": lost_requests.run,
    "hook_cost": hook_cost.run,
    "scale": scale.run,
    "static_files": static_files.run,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help=f"run only some of: {', '.join(BENCHMARKS)}")
    names = parser.parse_args().only or list(BENCHMARKS)
    if unknown := set(names) - set(BENCHMARKS):
        parser.error(f"no such benchmark: {', '.join(sorted(unknown))}")
    require_root()
    sections = [f"# wsgi-app benchmarks\n\n{host_facts().line()}\n"]
    failed = []
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        start = time.monotonic()
        try:
            text = BENCHMARKS[name]()
        except Exception:  # one broken benchmark must not hide the others' numbers
            failed.append(name)
            text = f"FAILED:\n\n```\n{traceback.format_exc()}```\n"
        minutes = (time.monotonic() - start) / 60
        sections.append(f"## {name} ({minutes:.1f} min; python -m bench.{name})\n\n{text}")
    summary = "\n".join(sections)
    output = ROOT / "build" / "bench" / "summary.md"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(summary)
    print(summary)
    print(f"(written to {output})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
