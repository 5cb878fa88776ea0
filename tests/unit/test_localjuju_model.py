"""localjuju's model record: a missing model loads empty, a saved one loads back whole,
``open_model`` holds the lock and saves on the way out (errors too), and the accessors
list units and relations as the verbs expect."""

from __future__ import annotations

import fcntl
import json
import threading
import time
from pathlib import Path

import pytest

from localjuju.model import DEFAULT_MODEL, Model, home, model_dir, open_model


@pytest.fixture(autouse=True)
def localjuju_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOCALJUJU_HOME", str(tmp_path))
    return tmp_path


def test_models_live_under_the_home_directory(localjuju_home: Path) -> None:
    assert home() == localjuju_home
    assert model_dir("mine") == localjuju_home / "mine"
    assert Model.load("mine").path == localjuju_home / "mine" / "model.json"
    assert DEFAULT_MODEL == "default"


def test_a_model_never_saved_loads_empty_and_writes_nothing(localjuju_home: Path) -> None:
    model = Model.load("fresh")
    assert (model.applications, model.units, model.machines, model.relations, model.queue) == (
        {},
        {},
        {},
        {},
        [],
    )
    assert model.data["next_machine"] == 0 and model.data["next_relation_id"] == 0
    assert model.data["name"] == "fresh" and len(model.data["uuid"]) == 36
    assert not (localjuju_home / "fresh").exists()


def test_a_saved_model_loads_back_whole_and_leaves_no_temporary_file(localjuju_home: Path) -> None:
    model = Model.load("kept")
    model.applications["app"] = {"kind": "charm", "config": {"port": 8080}}
    model.units["app/0"] = {"app": "app", "machine": "0"}
    model.queue.append({"unit": "app/0", "hook": "install"})
    model.save()
    assert sorted(p.name for p in (localjuju_home / "kept").iterdir()) == ["model.json"]
    again = Model.load("kept")
    assert again.data == model.data
    assert json.loads(again.path.read_text())["units"] == {"app/0": {"app": "app", "machine": "0"}}


def test_open_model_saves_when_the_block_ends_also_on_errors() -> None:
    with open_model("saved") as model:
        model.data["next_machine"] = 3
    assert Model.load("saved").data["next_machine"] == 3
    with pytest.raises(RuntimeError), open_model("saved") as model:
        model.data["next_machine"] = 4
        raise RuntimeError("a verb failed half way")
    assert Model.load("saved").data["next_machine"] == 4  # what it had made is recorded, for destroy


def test_open_model_holds_the_lock_until_the_block_ends(localjuju_home: Path) -> None:
    """A second command waits for the first: its lock is taken while the first holds it."""
    attempts: list[bool] = []

    def try_lock() -> None:
        with open(localjuju_home / "locked" / ".lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                attempts.append(True)
            except BlockingIOError:
                attempts.append(False)

    with open_model("locked"):
        other = threading.Thread(target=try_lock)
        other.start()
        other.join()
    try_lock()
    assert attempts == [False, True]


def test_a_waiting_command_sees_what_the_first_one_saved() -> None:
    order: list[str] = []

    def second() -> None:
        with open_model("serial") as model:
            order.append(f"second saw {model.data['next_machine']}")

    with open_model("serial") as model:
        waiting = threading.Thread(target=second)
        waiting.start()
        time.sleep(0.2)
        model.data["next_machine"] = 7
        order.append("first done")
    waiting.join(timeout=10)
    assert order == ["first done", "second saw 7"]


def test_units_sort_by_number_and_relations_are_found_by_application() -> None:
    model = Model.empty("accessors")
    for unit in ("app/10", "app/2", "other/0", "app/0"):
        model.units[unit] = {"app": unit.split("/")[0]}
    assert model.app_units("app") == ["app/0", "app/2", "app/10"]
    assert model.app_units("missing") == []
    model.relations["0"] = {"apps": {"app": "cluster"}}
    model.relations["1"] = {"apps": {"app": "db", "other": "database"}}
    model.relations["2"] = {"apps": {"other": "website", "third": "balancer"}}
    assert [rid for rid, _ in model.relations_of("app")] == ["0", "1"]
    assert [rid for rid, _ in model.relations_of("third")] == ["2"]


def test_the_saved_model_is_readable_by_root_alone(localjuju_home: Path) -> None:
    """It holds every relation's data and the servers' passwords (PostgreSQL's, Redis's
    ``password`` option, the RabbitMQ users'): never world-readable, whatever the umask."""
    model = Model.load("private")
    model.applications["rabbitmq-server"] = {"server": {"passwords": {"app": "s3cret"}}}
    model.save()
    model.save()  # a second save replaces the file: the new one is private too
    assert model.path.stat().st_mode & 0o777 == 0o600


def test_the_debug_log_is_readable_by_root_alone(localjuju_home: Path) -> None:
    """Hook output lands there, and a charm's or Juju's own messages may echo a secret."""
    model = Model.load("private")
    log = model.dir / "debug.log"
    model.dir.mkdir(parents=True)
    log.write_text("an older, world-readable log\n")
    log.chmod(0o644)
    model.append_log('wsgi-app/0: 12:00:00 hook install: ERROR key value "s3cret" not valid\n')
    assert log.stat().st_mode & 0o777 == 0o600
    assert log.read_text().splitlines()[-1].endswith('"s3cret" not valid')
