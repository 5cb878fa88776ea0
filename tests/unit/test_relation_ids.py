"""relation-ids answered from one goal-state call: which endpoints are skipped, and that
charmhelpers' relation_ids then answers them without a hook-tool call."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from charmhelpers.core import hookenv

from charms.layer.relation_ids import cache_unrelated_endpoints, unrelated_endpoints

ROOT = Path(__file__).resolve().parents[2]
METADATA = {
    "provides": {"website": {}, "logging": {}},
    "requires": {"db": {}, "cache": {}},
    "peers": {"cluster": {}},
}
GOAL = {
    "units": {"wsgi-app/0": {"status": "active", "since": "2026-12-05 04:00:00Z"}},
    "relations": {"db": {"pg": {"status": "joined", "since": "2026-12-05 04:00:00Z"}}},
}


def test_only_endpoints_goal_state_shows_unrelated_are_skipped() -> None:
    assert unrelated_endpoints(GOAL, METADATA, None) == ["cache", "logging", "website"]
    assert unrelated_endpoints(GOAL, METADATA, "website") == ["cache", "logging"]  # the hook's own: asked
    assert unrelated_endpoints({"units": {}}, METADATA, None) == ["cache", "db", "logging", "website"]


def test_an_endpoint_joined_in_an_earlier_hook_is_asked_even_when_goal_state_leaves_it_out() -> None:
    """goal-state does not list a relation this application offers to another model."""
    joined = {"website"}
    skipped = unrelated_endpoints({"units": {}}, METADATA, None, lambda endpoint: endpoint in joined)
    assert skipped == ["cache", "db", "logging"]


class ToolCalls:
    """Hook tools as charmhelpers runs them (subprocess.check_output), recorded."""

    def __init__(self, answers: dict[str, Any]):
        self.answers = answers
        self.made: list[list[str]] = []

    def __call__(self, command: list[str], **_: Any) -> bytes:
        self.made.append(command)
        answer = self.answers[command[0]]
        if isinstance(answer, Exception):
            raise answer
        return json.dumps(answer(command) if callable(answer) else answer).encode()


@pytest.fixture
def charm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "metadata.yaml").write_text(json.dumps(METADATA))  # JSON is YAML
    monkeypatch.setenv("CHARM_DIR", str(tmp_path))
    monkeypatch.delenv("JUJU_RELATION", raising=False)
    return tmp_path


def test_unrelated_endpoints_cost_no_relation_ids_call(charm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = ToolCalls({"goal-state": GOAL, "relation-ids": lambda command: [f"{command[-1]}:7"]})
    monkeypatch.setattr(subprocess, "check_output", calls)
    cache_unrelated_endpoints()
    answers = {name: hookenv.relation_ids(name) for name in hookenv.relation_types()}
    assert answers == {
        "website": [],
        "logging": [],
        "db": ["db:7"],
        "cache": [],
        "cluster": ["cluster:7"],
    }
    assert [command[0] for command in calls.made] == ["goal-state", "relation-ids", "relation-ids"]


def test_the_joined_flag_of_the_last_hook_is_what_is_read(
    charm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from charms.reactive.flags import clear_flag, set_flag

    calls = ToolCalls({"goal-state": {"units": {}}, "relation-ids": lambda command: [f"{command[-1]}:9"]})
    monkeypatch.setattr(subprocess, "check_output", calls)
    set_flag("endpoint.website.joined")
    try:
        cache_unrelated_endpoints()
        assert hookenv.relation_ids("website") == ["website:9"] and hookenv.relation_ids("db") == []
    finally:
        clear_flag("endpoint.website.joined")


def test_without_goal_state_every_endpoint_is_asked(charm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    failed = subprocess.CalledProcessError(1, ["goal-state"])
    calls = ToolCalls({"goal-state": failed, "relation-ids": lambda command: [f"{command[-1]}:7"]})
    monkeypatch.setattr(subprocess, "check_output", calls)
    cache_unrelated_endpoints()
    assert hookenv.relation_ids("website") == ["website:7"]
    assert [command[0] for command in calls.made] == ["goal-state", "relation-ids"]


def test_an_unrelated_unit_of_this_charm_asks_only_its_peer_endpoint() -> None:
    import yaml

    metadata = yaml.safe_load((ROOT / "metadata.yaml").read_text())
    endpoints = {name for role in ("provides", "requires", "peers") for name in metadata.get(role) or {}}
    skipped = unrelated_endpoints({"units": {}, "relations": {}}, metadata, None)
    assert endpoints - set(skipped) == {"cluster"} and len(skipped) == 11
