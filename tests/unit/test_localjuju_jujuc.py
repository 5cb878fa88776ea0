"""localjuju's hook tools as Juju's jujuc behaves: exit codes (2 for usage, 1 for a failed
run), network-get's shapes, goal-state, secret-get's revisions, juju-reboot (no machine),
and the main path of each tool: what it prints and what it saves for the agent."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from localjuju.toolserver import MAX_MESSAGE, PYTHON_CLIENT, ToolServer, machine_client

SECRET = "secret:cu0k9a5m0v1s2k3e4b5g"


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
            SECRET: {
                "owner": "pg",
                "label": "",
                "revisions": {"1": {"password": "b25l"}, "2": {"password": "dHdv"}},  # base64
                "latest": 2,
                "grants": {"app": "3"},
                "consumers": {"app/0": {"revision": 1}},
            }
        },
    }
    found.update(changes)
    return found


class Tools:
    """The hook tools served over one context, each run as the machine runs it: the client
    called by the tool's name, talking to the agent's tool server."""

    def __init__(self, directory: Path, ctx: dict[str, Any], client: Path):
        self.dir = directory
        self.client = client
        self.context = ctx
        self.server = ToolServer(directory / "tools.sock", ctx)

    def __call__(
        self, tool: str, *args: str, stdin: str = "", cwd: Path | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(tool, *args),
            env={"LOCALJUJU_SOCKET": str(self.server.path), **env},
            input=stdin,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )

    def link(self, tool: str) -> Path:
        """The tool as the machine has it: a link named for it to the one client."""
        link = self.dir / tool
        if not link.exists():
            link.symlink_to(self.client)
        return link

    def command(self, tool: str, *args: str) -> list[str]:
        """How the machine runs ``tool``: the compiled client, or the Python one under ``-IS``."""
        python = [sys.executable, "-IS"] if self.client.suffix == ".py" else []
        return [*python, str(self.link(tool)), *args]

    def saved(self) -> dict[str, Any]:
        return self.context


@pytest.fixture(params=["python", "compiled"])
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each test runs with both clients the agent may install: hooktool.py and hooktool.c
    built with this host's C compiler (skipped, visibly, on a host without one)."""
    if request.param == "python":
        return PYTHON_CLIENT
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOCALJUJU_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        built = machine_client()
    if built == PYTHON_CLIENT:
        pytest.skip("no C compiler on this host: the compiled hook-tool client is not tested")
    return built


@pytest.fixture
def tools(tmp_path: Path, client: Path) -> Iterator[Tools]:
    served = Tools(tmp_path, context(), client)
    with served.server:
        yield served


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
    assert yaml.safe_load(tools("secret-get", SECRET).stdout) == {"password": "one"}
    assert tools("secret-get", SECRET.removeprefix("secret:"), "password", "--peek").stdout == "two\n"
    assert tools("secret-get", SECRET, "password").stdout == "one\n"  # peek moved nothing
    assert tools("secret-get", SECRET, "password", "--refresh", "--label", "db-pass").stdout == "two\n"
    assert tools("secret-get", "--label", "db-pass", "password").stdout == "two\n"
    assert tools("secret-get", SECRET, "password#base64").stdout == "dHdv\n"
    assert tools("secret-get", SECRET, "--peek", "--refresh").returncode == 2
    assert tools("secret-get").returncode == 2
    assert tools("secret-get", "secret:nope").returncode == 2  # not a secret URI
    assert tools("secret-get", "secret:00000000000000000000").returncode == 1  # no such secret
    assert tools("secret-ids").stdout == ""  # owned by pg, not by this app
    assert tools.saved()["secrets"][SECRET]["consumers"]["app/0"] == {"revision": 2, "label": "db-pass"}


def test_juju_reboot_is_recorded_and_refused_in_actions(tools: Tools, tmp_path: Path, client: Path) -> None:
    assert tools("juju-reboot").returncode == 0 and tools.saved()["reboot"] == "after-hook"
    (tmp_path / "action").mkdir()
    action = Tools(tmp_path / "action", context(action={"name": "x"}), client)
    with action.server:
        refused = action("juju-reboot")
    assert refused.returncode == 1 and "not supported when running an action" in refused.stderr


def test_juju_reboot_now_kills_the_calling_hook(tools: Tools) -> None:
    hook = subprocess.run(
        ["sh", "-c", " ".join(tools.command("juju-reboot", "--now")) + "; echo survived"],
        env={"LOCALJUJU_SOCKET": str(tools.server.path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (hook.returncode, hook.stdout, tools.saved()["reboot"]) == (-15, "", "now")


def test_every_call_is_counted_for_the_hook_cost(tools: Tools) -> None:
    tools("config-get", "a")
    tools("is-leader")
    tools("relation-get", "k", "pg/0")  # a usage error costs a call too, and changes nothing else
    tools("relation-list", "--bogus")  # argparse's own exit 2
    saved = tools.saved()
    assert saved["tool_calls"] == 4 and saved["tools_used"]["relation-get"] == 1


def test_the_callers_juju_environment_names_the_hooks_relation(tools: Tools) -> None:
    assert tools("relation-get", "k", "pg/0", JUJU_RELATION_ID="db:3").stdout == "v\n"
    assert tools("relation-ids", JUJU_RELATION="db").stdout == "db:3\n"
    assert tools("relation-get", "k", JUJU_RELATION_ID="db:3", JUJU_REMOTE_UNIT="pg/0").stdout == "v\n"


def test_relation_set_reads_a_file_or_stdin_where_the_caller_runs(tools: Tools, tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text("host: h1\nport: 5432\n")
    assert tools("relation-set", "-r", "db:3", "--file", "settings.yaml", cwd=tmp_path).returncode == 0
    assert tools("relation-set", "-r", "db:3", "--file", "-", "x=1", stdin="port: 1\nhost:\n").returncode == 0
    assert tools.saved()["relations"]["db:3"]["data"]["app/0"] == {"port": "1", "x": "1"}
    missing = tools("relation-set", "-r", "db:3", "--file", "nothing.yaml", cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (1, "ERROR open nothing.yaml: no such file or directory\n")


def test_relation_set_reads_strings_only_and_aliases_cannot_blow_it_up(tools: Tools, tmp_path: Path) -> None:
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    for level in "bcdefghi":
        bomb += f"{level}: &{level} [*{chr(ord(level) - 1)}" + f",*{chr(ord(level) - 1)}" * 8 + "]\n"
    (tmp_path / "bomb.yaml").write_text(bomb)
    refused = tools("relation-set", "-r", "db:3", "--file", "bomb.yaml", cwd=tmp_path)
    assert (refused.returncode, refused.stderr.startswith("ERROR yaml: unmarshal errors")) == (1, True)
    assert "a" not in tools.saved()["relations"]["db:3"]["data"].get("app/0", {})


def test_a_file_larger_than_a_message_may_be_is_refused_and_the_agent_keeps_serving(
    tools: Tools, tmp_path: Path
) -> None:
    """A charm cannot make the host agent hold more than MAX_MESSAGE bytes of one file."""
    (tmp_path / "huge.yaml").write_bytes(b"k: " + b"x" * MAX_MESSAGE + b"\n")
    huge = tools("relation-set", "-r", "db:3", "--file", "huge.yaml", cwd=tmp_path)
    assert huge.returncode != 0
    assert "k" not in tools.saved()["relations"]["db:3"]["data"].get("app/0", {})
    assert tools("relation-get", "-r", "3", "k", "pg/0").stdout == "v\n"


def test_secret_add_reads_a_file_where_the_caller_runs(tools: Tools, tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_text("-----BEGIN KEY-----\n")
    added = tools("secret-add", "deploy-key#file=key.pem", "--label", "deploy", cwd=tmp_path)
    assert added.returncode == 0 and added.stdout.startswith("secret:")
    assert tools("secret-get", "--label", "deploy", "deploy-key").stdout == "|\n  -----BEGIN KEY-----\n"
    as_json = tools("secret-get", "--label", "deploy", "deploy-key", "--format", "json").stdout
    assert json.loads(as_json) == "-----BEGIN KEY-----\n"
    assert tools("secret-ids").stdout == added.stdout.removeprefix("secret:")
    missing = tools("secret-add", "deploy-key#file=nothing.pem", cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (1, "ERROR open nothing.pem: no such file or directory\n")


def test_a_tool_outside_a_hook_says_so(tmp_path: Path, client: Path) -> None:
    idle = Tools(tmp_path, context(), client)  # its server not started: no hook runs
    outside = idle("config-get", "a")
    assert (outside.returncode, outside.stdout) == (1, "")
    assert outside.stderr == "ERROR config-get: not running in a hook context\n"


def test_a_host_without_a_c_compiler_installs_the_python_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALJUJU_CACHE", str(tmp_path))
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert machine_client() == PYTHON_CLIENT


def test_the_server_stops_at_the_end_of_the_hook_without_waiting_for_a_stuck_caller(tmp_path: Path) -> None:
    server = ToolServer(tmp_path / "tools.sock", context())
    with socket.socket(socket.AF_UNIX) as stuck:  # still open when the server stops
        with server:
            stuck.connect(str(server.path))  # connected, and never sends its request
            time.sleep(0.1)  # the server is reading from it
            started = time.monotonic()
        assert time.monotonic() - started < 5 and not server.path.exists()


def test_config_get_prints_one_key_or_all_of_them(tools: Tools) -> None:
    assert tools("config-get", "a").stdout == "1\n"
    assert json.loads(tools("config-get", "--format", "json").stdout) == {"a": "1"}
    assert json.loads(tools("config-get", "missing", "--format", "json").stdout) is None


def test_relation_tools_list_read_and_write_this_units_settings(tools: Tools) -> None:
    assert tools("relation-ids", "db").stdout == "db:3\n"
    assert tools("relation-list", "-r", "db:3").stdout == "pg/0\n"
    assert tools("relation-list", "-r", "db:3", "--app").stdout == "pg\n"
    assert tools("relation-set", "-r", "db:3", "database=shop", "user=app").returncode == 0
    assert tools("relation-set", "-r", "db:3", "user=").returncode == 0  # an empty value deletes the key
    assert tools.saved()["relations"]["db:3"]["data"]["app/0"] == {"database": "shop"}
    assert tools("relation-get", "-r", "db:3", "database", "app/0").stdout == "shop\n"
    assert tools("relation-set", "-r", "db:3", "--app", "name=shop").returncode == 0  # the leader may
    assert tools.saved()["relations"]["db:3"]["data"]["app"] == {"name": "shop"}


def test_a_unit_that_does_not_lead_may_not_write_its_applications_settings(
    tmp_path: Path, client: Path
) -> None:
    follower = Tools(tmp_path, context(leader=False), client)
    with follower.server:
        assert follower("is-leader", "--format", "json").stdout == "false\n"
        assert follower("leader-set", "k=v").returncode == 1
        assert follower("relation-set", "-r", "db:3", "--app", "k=v").returncode == 1
        assert follower("status-set", "--application", "active").returncode == 1
    saved = follower.saved()
    assert saved["leader_data"] == {} and "app" not in saved["relations"]["db:3"]["data"]


def test_leader_status_ports_version_and_log_are_saved_for_the_agent(tools: Tools) -> None:
    assert tools("leader-set", "secret=s3", "gone=").returncode == 0
    assert tools("leader-get", "secret").stdout == "s3\n"
    assert tools("status-set", "blocked", "set app_repo").returncode == 0
    assert tools("status-get").stdout == "blocked\n"
    assert tools("open-port", "8080").returncode == 0 and tools("open-port", "9000-9001/udp").returncode == 0
    assert tools("close-port", "9000-9001/udp").returncode == 0
    assert tools("open-port", "70000").returncode == 1
    assert tools("opened-ports").stdout == "8080/tcp\n"
    assert tools("application-version-set", "1a2b3c4").returncode == 0
    assert tools("juju-log", "-l", "WARNING", "hello", "there").returncode == 0
    saved = tools.saved()
    assert saved["leader_data"] == {"secret": "s3"}
    unit_status = saved["status"]["unit"]
    assert (unit_status["status"], unit_status["message"]) == ("blocked", "set app_repo")
    assert saved["ports"] == ["8080/tcp"] and saved["version"] == "1a2b3c4"
    assert [entry[1:] for entry in saved["logs"]] == [["WARNING", "hello there"]]


def test_action_tools_read_params_and_record_results_log_and_failure(tmp_path: Path, client: Path) -> None:
    action = {"params": {"lines": 10, "filter": {"level": "error"}}, "results": {}, "log": [], "failed": None}
    tools = Tools(tmp_path, context(action=action), client)
    with tools.server:
        assert tools("action-get", "lines").stdout == "10\n"
        assert tools("action-get", "filter.level").stdout == "error\n"
        assert tools("action-set", "out.text=done", "count=3").returncode == 0
        assert tools("action-set", "Bad_Key=x").returncode == 1
        assert tools("action-log", "working").returncode == 0
        assert tools("action-fail", "no luck").returncode == 0
    saved = tools.saved()["action"]
    assert saved["results"] == {"out": {"text": "done"}, "count": "3"}
    assert [entry[1] for entry in saved["log"]] == ["working"] and saved["failed"] == "no luck"
    outside = tmp_path / "outside"
    outside.mkdir()
    not_an_action = Tools(outside, context(), client)
    with not_an_action.server:
        assert not_an_action("action-get").returncode == 1  # not running an action
