"""What every verb shares: letting the model settle (the queued hooks run, failures are
shown), progress lines, and signals that interrupt a step or wait for its cleanup."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator

from .agent import Agent, HookResult


def say(line: str) -> None:
    """A progress line for the user (stderr), under the step it belongs to."""
    print(f"   {line}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C, so callers' cleanup runs either way."""
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def uninterruptible() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block ends (a cleanup is not cut short)."""
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in signals}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def settle(agent: Agent) -> list[HookResult]:
    """Run the queued hooks until the model settles; shows each failed hook's output tail
    and returns every result."""
    results = agent.settle()
    agent.forget_broken()
    failed = [r for r in results if not r.ok]
    for result in failed:
        tail = "\n".join(result.output.strip().splitlines()[-15:])
        say(f"{result.unit}: hook {result.hook} failed:\n{tail}")
    return results
