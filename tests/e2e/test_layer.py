"""A charm built on layer:wsgi-app (tests/layer-charm, README's "Using it as a layer"):
built by charm-build against this checkout, deployed, it serves under its own name on
its own default port, runs its own handler on the layer's flag, and has the layer's
actions.

One machine on the model's own network (``deploy --isolated``), so port 8000 is its own
and the module runs in the lane beside the loopback ones; requests come from the unit's
own machine, to its model address.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from localmodel import ROOT, LocalModel

from bench.machine import isolated_wheels

LAYER_CHARM = ROOT / "tests" / "layer-charm"
APP = "wsgi-hello"  # its metadata.yaml
UNIT = f"{APP}/0"
PORT = 8000  # its config.yaml default (the layer's is 8080)
CHARM_DIR = f"/var/lib/juju/agents/unit-{APP}-0/charm"
# run on the unit's machine: the JSON body of the URL in argv[1]
GET_JSON = (
    "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())"
)
# run on the unit's machine: the charms.reactive flags set in the unit's state (argv[1])
FLAGS = (
    "import sqlite3, sys; prefix = 'reactive.states.'; rows = sqlite3.connect(sys.argv[1]).execute("
    "'select key from kv where key like ?', (prefix + '%',));"
    "print(' '.join(key[len(prefix):] for (key,) in rows))"
)


@pytest.fixture(scope="module")
def hello(model: LocalModel, charm: Path) -> LocalModel:
    """The example charm, built now from this checkout (the build is what is tested as much
    as the deploy), deployed on one isolated machine with its defaults."""
    output = ROOT / "build"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "build_charm.py"),
            "--output",
            str(output),
            "--charm",
            str(LAYER_CHARM),
        ],
        check=True,
        capture_output=True,
    )
    model.deploy(output / APP, "--isolated", *isolated_wheels())
    return model


def get(model: LocalModel, path: str) -> dict[str, object]:
    address = model.unit(UNIT)["address"]
    body = model.cli("exec", UNIT, "--", "python3", "-c", GET_JSON, f"http://{address}:{PORT}{path}").stdout
    answer: dict[str, object] = json.loads(body)
    return answer


def test_it_serves_under_its_own_name_on_its_own_default_port(hello: LocalModel) -> None:
    unit = hello.unit(UNIT)
    assert unit["workload-status"] == "active", unit
    assert unit["message"].startswith("serving demo ("), unit
    assert unit["open-ports"] == [f"{PORT}/tcp"]
    assert get(hello, "/healthz")["status"] == "ok"
    assert get(hello, "/env?APP_NAME") == {"name": "APP_NAME", "set": True, "value": APP}
    assert get(hello, "/env?PORT") == {"name": "PORT", "set": True, "value": str(PORT)}


def test_its_own_handler_ran_once_on_the_layers_flag(hello: LocalModel) -> None:
    hello.cli("run-hook", UNIT, "update-status")
    flags = hello.cli(
        "exec", UNIT, "--", "python3", "-c", FLAGS, f"{CHARM_DIR}/.unit-state.db"
    ).stdout.split()
    assert {"wsgi-app.serving", "wsgi-hello.announced"} <= set(flags), flags
    log = hello.cli("debug-log", "--replay", "--include", UNIT).stdout
    assert log.count(f"wsgi-hello: serving on port {PORT}") == 1, log[-3000:]


def test_the_layers_actions_run_from_the_template(hello: LocalModel) -> None:
    shown = hello.action("show-settings", unit=UNIT)
    assert shown["status"] == "completed", shown
    settings = shown["results"]["settings"].splitlines()
    assert f"APP_NAME={APP}" in settings and f"PORT={PORT}" in settings, settings
    assert "SECRET_KEY=<redacted>" in settings
    script = hello.sh(
        f"cmp {CHARM_DIR}/actions/show-settings {CHARM_DIR}/actions/action.template && echo same", UNIT
    )
    assert script.strip() == "same"
