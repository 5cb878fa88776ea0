"""localjuju's hook tools as Juju's jujuc behaves: exit codes (2 for usage, 1 for a failed
run), network-get's shapes, goal-state, secret-get's revisions, juju-reboot (no machine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

JUJUC = Path(__file__).resolve().parents[2] / "localjuju" / "machine" / "jujuc.py"


def context(**changes: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "unit": "app/0",
        "app": "app",
        "leader": True,
        "config": {"a": "1"},
        "leader_data": {},
        "relations": {
            "db:3": {"endpoint": "db", "remote_app": "pg", "units": ["pg/0"], "data": {"pg/0": {"k": "v"}}}
        },
        "address": "10.0.0.5",
        "cidr": "10.0.0.0/24",
        "interface": "eth0",
        "addresses": {},
        "status": {"unit": {"status": "active", "message": ""}, "application": {}},
        "ports": [],
        "logs": [],
        "action": None,
        "bindings": ["db", "website"],
        "goal": {"units": {"app/0": {"status": "active", "since": "2026-12-05 01:00:00Z"}}, "relations": {}},
        "secrets": {
            "secret:abc": {
                "owner": "pg",
                "label": "",
                "revisions": {"1": {"password": "one"}, "2": {"password": "two"}},
                "latest": "2",
                "seen": "1",
            }
        },
    }
    found.update(changes)
    return found


LOADER = """import importlib.util as u, sys
spec = u.spec_from_file_location("jujuc", {path!r})
module = u.module_from_spec(spec)
spec.loader.exec_module(module)
sys.exit(module.main())
"""


class Tools:
    """The hook tools over one context file, each run as the machine runs it: jujuc called
    by the tool's name."""

    def __init__(self, directory: Path, ctx: dict[str, Any]):
        self.dir = directory
        self.file = directory / "context.json"
        self.file.write_text(json.dumps(ctx))

    def __call__(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        script = self.dir / tool
        if not script.exists():
            script.write_text(f"#!{sys.executable}\n" + LOADER.format(path=str(JUJUC)))
            script.chmod(0o755)
        return subprocess.run(
            [str(script), *args],
            env={"LOCALJUJU_CONTEXT": str(self.file)},
            capture_output=True,
            text=True,
            check=False,
        )

    def saved(self) -> dict[str, Any]:
        return dict(json.loads(self.file.read_text()))


@pytest.fixture
def tools(tmp_path: Path) -> Tools:
    return Tools(tmp_path, context())


def test_usage_errors_exit_2_and_run_errors_exit_1(tools: Tools) -> None:
    assert tools("relation-get", "k", "pg/0").returncode == 2  # no relation id: Init fails
    unknown = tools("relation-get", "-r", "db:9", "k", "pg/0")
    assert (unknown.returncode, unknown.stderr.startswith("ERROR ")) == (2, True)
    assert tools("relation-list", "--bogus-flag").returncode == 2
    assert tools("relation-get", "-r", "3", "k", "pg/0").stdout == "v\n"
    assert tools("relation-get", "-r", "3", "k", "nobody/0").returncode == 1
    missing = tools("relation-get", "-r", "3", "nope", "pg/0", "--format", "json")
    assert (missing.returncode, missing.stdout) == (0, "null\n")
    assert tools("leader-set", "x").returncode == 1  # not key=value: the run fails


def test_network_get_prints_one_value_alone_and_names_fields_per_format(tools: Tools) -> None:
    assert tools("network-get", "db", "--ingress-address", "--format", "json").stdout == '"10.0.0.5"\n'
    assert tools("network-get", "db", "--ingress-address").stdout == "10.0.0.5\n"
    assert json.loads(tools("network-get", "db", "--egress-subnets", "--format", "json").stdout) == [
        "10.0.0.5/32"
    ]
    both = json.loads(
        tools("network-get", "db", "--ingress-address", "--bind-address", "--format", "json").stdout
    )
    assert both == {"bind-address": "10.0.0.5", "ingress-address": "10.0.0.5"}
    as_json = json.loads(tools("network-get", "db", "--format", "json").stdout)
    assert as_json["bind-addresses"][0]["interface-name"] == "eth0"
    assert as_json["bind-addresses"][0]["addresses"][0]["value"] == "10.0.0.5"
    as_yaml = yaml.safe_load(tools("network-get", "db", "--format", "yaml").stdout)
    assert as_yaml["bind-addresses"][0]["interfacename"] == "eth0"
    assert as_yaml["bind-addresses"][0]["addresses"][0]["address"] == "10.0.0.5"
    unknown = tools("network-get", "nothing")
    assert unknown.returncode == 1 and 'no network config found for binding "nothing"' in unknown.stderr


def test_goal_state_is_yaml_by_default(tools: Tools) -> None:
    assert yaml.safe_load(tools("goal-state").stdout)["units"]["app/0"]["status"] == "active"
    assert json.loads(tools("goal-state", "--format", "json").stdout)["relations"] == {}


def test_secret_get_keeps_to_the_revision_seen_until_refreshed(tools: Tools) -> None:
    assert yaml.safe_load(tools("secret-get", "secret:abc").stdout) == {"password": "one"}
    assert tools("secret-get", "abc", "password", "--peek").stdout == "two\n"
    assert tools("secret-get", "secret:abc", "password").stdout == "one\n"  # peek moved nothing
    assert tools("secret-get", "secret:abc", "password", "--refresh", "--label", "db-pass").stdout == "two\n"
    assert tools("secret-get", "--label", "db-pass", "password").stdout == "two\n"
    assert tools("secret-get", "secret:abc", "--peek", "--refresh").returncode == 2
    assert tools("secret-get").returncode == 2
    assert tools("secret-get", "secret:nope").returncode == 1
    assert tools("secret-ids").stdout == ""  # owned by pg, not by this app


def test_juju_reboot_is_recorded_and_refused_in_actions(tmp_path: Path) -> None:
    tools = Tools(tmp_path, context())
    assert tools("juju-reboot").returncode == 0 and tools.saved()["reboot"] == "after-hook"
    action = Tools(
        tmp_path / "a" if (tmp_path / "a").mkdir() is None else tmp_path, context(action={"name": "x"})
    )
    refused = action("juju-reboot")
    assert refused.returncode == 1 and "not supported when running an action" in refused.stderr


def test_every_call_is_counted_for_the_hook_cost(tools: Tools) -> None:
    tools("config-get", "a")
    tools("is-leader")
    tools("relation-get", "k", "pg/0")  # a usage error costs a call too, and changes nothing else
    tools("relation-list", "--bogus")  # argparse's own exit 2
    saved = tools.saved()
    assert saved["tool_calls"] == 4 and saved["tools_used"]["relation-get"] == 1
