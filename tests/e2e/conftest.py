"""End-to-end tests: the built charm, deployed by localjuju on booted Debian machines.

Every test module gets its own model; the model is destroyed when the module ends,
whatever happened, and the session fails if any of them left something on the host
(``localjuju leftovers``). Most machines share the host's network namespace, so the app
answers on 127.0.0.1 and those modules run one after the other (one app on a port at a
time); the multi-unit tests use isolated networks (``deploy --isolated``) and run beside
them (tools/run_e2e.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from localmodel import REPORTS, ROOT, LocalModel

from bench.machine import CHARM
from localjuju import leftovers

MODELS: list[LocalModel] = []  # every model the session made
DURATIONS: dict[str, float] = {}  # module -> seconds, from its first setup to its last teardown


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    start = time.monotonic()
    yield
    module = item.nodeid.split("::", 1)[0]
    DURATIONS[module] = DURATIONS.get(module, 0.0) + time.monotonic() - start


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for module, seconds in sorted(DURATIONS.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"e2e module {module}: {seconds:.0f}s")
    for line in REPORTS:
        terminalreporter.write_line(f"e2e report: {line}")


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind() -> Iterator[None]:
    """After the last test: fail when a model left anything on the host (then remove it)."""
    yield
    if os.environ.get("E2E_KEEP"):
        return
    left = {model.name: found for model in MODELS if (found := leftovers.find(model.name))}
    for name in left:
        LocalModel(name).cli("destroy", check=False)
    assert not left, "models left things on the host:\n" + "\n".join(
        f"{name}: {item}" for name, found in left.items() for item in found
    )


@pytest.fixture(scope="session")
def charm() -> Path:
    if os.geteuid() != 0:
        pytest.skip("end-to-end tests boot machines: run them as root (make e2e)")
    if not (CHARM / "metadata.yaml").exists():
        subprocess.run([sys.executable, str(ROOT / "tools" / "build_charm.py")], check=True)
    return CHARM


@pytest.fixture(scope="module")
def model(request: pytest.FixtureRequest, charm: Path) -> Iterator[LocalModel]:
    name = f"e2e-{request.module.__name__.rsplit('.', 1)[-1].removeprefix('test_')}-{os.getpid()}"
    local = LocalModel(name.replace("_", "-"))
    MODELS.append(local)
    try:
        yield local
    finally:
        if os.environ.get("E2E_KEEP"):  # debugging: keep the machines, remove them by hand
            print(f"\nkept model {local.name}: localjuju -m {local.name} destroy")
        else:
            local.cli("destroy", check=False)


@pytest.fixture(scope="module")
def deployed(model: LocalModel, charm: Path) -> LocalModel:
    """The module's model with the charm deployed on its defaults (the demo app on :8080)."""
    model.cli("deploy", str(charm))
    return model
