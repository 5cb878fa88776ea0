"""The unit's memory record: older records still load, a unit upgraded from the charm that
kept its facts in unit data migrates them, and the record is written only when it changed."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from charms.layer.wsgi_app import memory
from charms.layer.wsgi_app.memory import VERSION, Memory, from_json, from_legacy, to_json

SOURCE = {"app_repo": "https://git.example.org/shop.git", "app_ref": "main", "agreed": ""}


@pytest.fixture(autouse=True)
def new_process():
    memory.forget()
    yield
    memory.forget()


def test_a_record_survives_its_round_trip() -> None:
    record = Memory(
        fingerprint="f" * 64,
        source="{}",
        problem="p",
        build_problem="b",
        transient=True,
        port=8080,
        status=("a", "b"),
    )
    assert from_json(to_json(record)) == record


def test_a_version_1_record_still_loads() -> None:
    """Version 1 (the first of this format) had no app_version: it loads, that field empty."""
    v1 = {
        "version": 1,
        "fingerprint": "ab" * 32,
        "source": json.dumps(SOURCE, sort_keys=True),
        "problem": "",
        "transient": False,
        "waiting": "the leader to run release_command for abc1234",
        "port": 8000,
        "metrics_port": 9102,
        "status": ["waiting", "serving demo (abc1234) on :8000; waiting for the leader"],
    }
    assert from_json(json.dumps(v1)) == Memory(
        version=VERSION,
        fingerprint="ab" * 32,
        source=json.dumps(SOURCE, sort_keys=True),
        waiting="the leader to run release_command for abc1234",
        port=8000,
        metrics_port=9102,
        status=("waiting", "serving demo (abc1234) on :8000; waiting for the leader"),
        app_version="",
    )


def test_a_version_2_record_loads_without_a_failed_build() -> None:
    """Version 2 had no build_problem: a failed build's reason was in ``problem``, kept there."""
    v2 = {"version": 2, "source": "{}", "problem": "requirements.txt: no match", "app_version": "abc1234"}
    assert from_json(json.dumps(v2)) == Memory(
        source="{}", problem="requirements.txt: no match", app_version="abc1234"
    )


@pytest.mark.parametrize(
    "text",
    ["", "not json", "[1, 2]", '{"version": "2"}', json.dumps({"version": VERSION + 1, "port": 80})],
)
def test_an_unreadable_or_newer_record_is_a_unit_that_remembers_nothing(text: str) -> None:
    """Remembering nothing is always safe: the next hook applies in full and shows its status."""
    assert from_json(text) == Memory()


def test_fields_of_the_wrong_type_take_their_defaults() -> None:
    text = json.dumps({"version": VERSION, "port": "8080", "transient": 1, "status": ["x"], "problem": "p"})
    assert from_json(text) == Memory(problem="p")


def test_the_scattered_keys_of_the_charm_on_main_migrate_into_one_record(tmp_path: Path, monkeypatch) -> None:
    """upgrade-charm from the charm that kept six unit-data keys, data_changed's hash and a
    status file: every fact moves into the record, and the old places are emptied."""
    from charmhelpers.core import unitdata

    kv = unitdata.Storage(str(tmp_path / "unit-state.db"))
    monkeypatch.setattr(unitdata, "_KV", kv)
    kv.set("wsgi-app.source", SOURCE)
    kv.set("wsgi-app.problem", "release abc1234 failed health check (HTTP 500); rolled back to 0123456")
    kv.set("wsgi-app.port", 8080)
    kv.set("wsgi-app.metrics-port", 9102)
    kv.set("wsgi-app.transient", False)
    kv.set("wsgi-app.waiting", "the leader to run release_command for abc1234")
    kv.set("reactive.data_changed.wsgi-app.desired", "d41d8cd98f00b204e9800998ecf8427e")
    (tmp_path / ".wsgi-app-status.json").write_text(json.dumps(["blocked", "release abc1234 failed"]))
    loaded = memory.load(tmp_path / ".wsgi-app-memory.json")
    assert loaded == Memory(
        fingerprint="",  # the first hook after the upgrade applies in full
        source=memory.canonical(SOURCE),
        problem="release abc1234 failed health check (HTTP 500); rolled back to 0123456",
        port=8080,
        metrics_port=9102,
        transient=False,
        waiting="the leader to run release_command for abc1234",
        status=("blocked", "release abc1234 failed"),
    )
    assert all(kv.get(key) is None for key in (*memory.LEGACY_KEYS.values(), memory.LEGACY_FINGERPRINT_KEY))
    assert not (tmp_path / ".wsgi-app-status.json").exists()


def test_a_fresh_unit_has_nothing_to_migrate() -> None:
    assert from_legacy(lambda key: None, None) == Memory()


def test_the_record_is_root_only_and_written_only_when_it_changed(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / ".wsgi-app-memory.json"
    path.write_text(to_json(Memory(port=8080)))
    loaded = memory.load(path)
    assert memory.load(path) is loaded  # once per hook: a second handler gets the same record
    writes: list[Memory] = []
    write = memory.write_atomically
    monkeypatch.setattr(memory, "write_atomically", lambda *a, **k: writes.append(a[1]) or write(*a, **k))
    memory.save(loaded, path)
    assert writes == []
    memory.save(Memory(port=8000), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    memory.forget()  # the next hook
    assert memory.load(path) == Memory(port=8000)
