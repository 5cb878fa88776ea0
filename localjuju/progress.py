"""Progress lines for long steps: what is happening, then how long it took."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator

QUIET = False


@contextlib.contextmanager
def step(what: str) -> Iterator[None]:
    start = time.monotonic()
    if not QUIET:
        print(f"-> {what} ...", file=sys.stderr, flush=True)
    try:
        yield
    except BaseException:
        if not QUIET:
            print(f"   failed after {time.monotonic() - start:.1f}s: {what}", file=sys.stderr, flush=True)
        raise
    if not QUIET:
        print(f"   done in {time.monotonic() - start:.1f}s", file=sys.stderr, flush=True)
