"""Celery end to end: a Flask + Celery application (its Procfile: a ``web``, a ``worker`` and
a ``beat``) on two units behind the runner's real apache2, with real PostgreSQL 15 and
Redis (the broker and result backend, from the redis relation's ``CELERY_BROKER_URL`` and
``REDIS_URL``), then RabbitMQ (``amqp``), all on the model's own network (``deploy
--isolated``: machines at 10.231.0.1x, servers at 10.231.0.2).

Every request comes from the model's server namespace through apache2. Checked: a request
enqueues a task that a worker computes (on either unit, through each unit's own queue);
kill -9 of a worker's main process, and systemd starts it again and it takes tasks; a new
release changes what the workers compute; the beat runs on the leader only (each of its
runs a row in PostgreSQL naming the unit that scheduled it and the one that ran it) and
follows ``localjuju elect``; a failing scheduled job shows in the leader's status while
the site serves; with RabbitMQ instead of Redis, Celery takes its tasks over AMQP.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from localmodel import APP, LocalModel, UnitsRepo, apache2_config, leader, netns_get, unit_names

from bench.machine import isolated_wheels

SERVERS = "10.231.0.2"
REQUIREMENTS = ("flask>=3", "celery[redis,sqlalchemy]>=5.4,<6", "psycopg2-binary>=2.9,<3")
# the wheels are gathered on the host; the machines' Python (3.11.2) also needs what
# redis-py asks only of Pythons before 3.11.3
WHEELS = (*REQUIREMENTS, "async-timeout>=4.0.3")
# the Celery application: its broker the one the relations name; results in Redis when
# related, else in PostgreSQL (not rpc://: it would hand one gunicorn worker's results to
# another); every worker also takes tasks from a queue of its own unit's, so a test can
# send one to a given unit
TASKS_PY = """\
import os

import psycopg2
from celery import Celery
from kombu import Exchange, Queue

VERSION = "v1"
UNIT = os.environ.get("APP_UNIT", "")
DATABASE = os.environ.get("DATABASE_URL", "")


def queue(name):
    return Queue(name, Exchange(name, type="direct"), routing_key=name)


def unit_queue(unit):
    return queue("unit-" + unit.replace("/", "-"))


celery = Celery(
    "tasks",
    broker=os.environ.get("CELERY_BROKER_URL"),
    backend=os.environ.get("REDIS_URL") or DATABASE.replace("postgresql://", "db+postgresql+psycopg2://", 1),
)
celery.conf.update(
    task_queues=[queue("celery"), unit_queue(UNIT)],
    task_default_queue="celery",
    broker_connection_retry_on_startup=True,
    # read in the beat's process: the unit it runs on goes with each run
    beat_schedule={"stamp": {"task": "tasks.stamp", "schedule": 2.0, "args": (UNIT,)}},
)


@celery.task
def compute(x, y):
    result = x + y if VERSION == "v1" else x * y
    broker = celery.conf.broker_url.split(":", 1)[0]
    return {"result": result, "version": VERSION, "unit": UNIT, "ppid": os.getppid(), "broker": broker}


@celery.task
def stamp(scheduled_on):
    with psycopg2.connect(os.environ["DATABASE_URL"]) as connection, connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS stamps (id serial PRIMARY KEY, scheduled_on text, ran_on text)"
        )
        cursor.execute("INSERT INTO stamps (scheduled_on, ran_on) VALUES (%s, %s)", (scheduled_on, UNIT))
"""
APP_PY = """\
import os

import psycopg2
from flask import Flask, jsonify, request

from tasks import compute, unit_queue

app = Flask(__name__)


@app.route("/")
def index():
    return "celery shop\\n"


@app.route("/compute")
def enqueue():
    x, y = int(request.args["x"]), int(request.args["y"])
    unit = request.args.get("unit", "")
    queue = unit_queue(unit) if unit else "celery"
    return jsonify(compute.apply_async((x, y), queue=queue).get(timeout=15))


@app.route("/stamps")
def stamps():
    with psycopg2.connect(os.environ["DATABASE_URL"]) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('stamps') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return jsonify([])
        cursor.execute("SELECT id, scheduled_on, ran_on FROM stamps ORDER BY id")
        return jsonify(cursor.fetchall())
"""
# beat keeps its schedule in the data directory (the release is read-only)
PROCFILE = (
    "web: gunicorn app:app\n"
    "worker: celery -A tasks worker --concurrency 2 --loglevel INFO\n"
    'beat: celery -A tasks beat --schedule "$APP_DATA_DIR/celerybeat-schedule" --loglevel INFO\n'
)
REPORT_PY = 'raise SystemExit("the report source is down")\n'
SCHEDULED_JOBS = "report: * * * * * python report.py"


def app_files(version: str) -> dict[str, str]:
    return {
        "app.py": APP_PY,
        "tasks.py": TASKS_PY.replace('VERSION = "v1"', f'VERSION = "{version}"'),
        "report.py": REPORT_PY,
        "Procfile": PROCFILE,
        "requirements.txt": "".join(f"{line}\n" for line in REQUIREMENTS),
    }


@pytest.fixture(scope="module")
def shop(
    model: LocalModel, charm: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[LocalModel, Callable[[str], str]]:
    """Two units serving the Celery app through apache2, related to PostgreSQL and Redis
    (RabbitMQ deployed, not related); and a function that publishes a new version."""
    model.cli("deploy", "postgresql", "--isolated")
    model.cli("deploy", "redis", "--isolated")
    model.cli("deploy", "rabbitmq-server", "--isolated")
    model.cli("deploy", "apache2", "--isolated", *apache2_config())
    wheels = [arg for requirement in WHEELS for arg in ("--wheel", requirement)]
    model.deploy(charm, "-n", "2", "--isolated", *isolated_wheels(), *wheels)
    model.cli("relate", f"{APP}:db", "postgresql:db")
    model.cli("relate", f"{APP}:redis", "redis:db")
    model.cli("relate", "apache2:balancer", f"{APP}:website")
    repo = UnitsRepo(model, "shop", tmp_path_factory.mktemp("work"))
    repo.commit(app_files("v1"), "v1")
    model.config(app_repo=repo.url, app_ref="main", scheduled_jobs=SCHEDULED_JOBS)
    for unit in unit_names(model):
        info = model.unit(unit)
        assert info["workload-status"] == "active" and "shop (" in info["message"], info
    return model, lambda version: repo.commit(app_files(version), version)


def get(model: LocalModel, path: str, timeout: float = 30) -> Any:
    """GET ``path`` through apache2 from the servers' namespace; its JSON (200 only)."""
    port = model.unit("apache2/0")["open-ports"][0].split("/")[0]
    answer = netns_get(f"lj-{model.name}-srv", f"http://{SERVERS}:{port}{path}", timeout=timeout)
    assert answer.status == 200, answer
    return answer.json()


def until(what: str, probe: Callable[[], Any], timeout: float, interval: float = 1) -> Any:
    """``probe()``'s first true value within ``timeout`` s (an exception counts as false)."""
    end = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < end:
        try:
            last = probe()
        except (AssertionError, OSError, ValueError) as error:
            last = error
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"not within {timeout:.0f}s: {what} (last: {last!r})")


def computed(model: LocalModel, x: int, y: int, unit: str = "") -> dict[str, Any]:
    """What a worker answered to ``compute(x, y)`` sent through apache2 (to ``unit``'s queue)."""
    answer: dict[str, Any] = get(model, f"/compute?x={x}&y={y}" + (f"&unit={unit}" if unit else ""))
    return answer


def each_worker_computes(model: LocalModel, x: int, y: int, expected: int, **wanted: str) -> None:
    """Each unit's worker, sent ``compute(x, y)`` until its answer has ``wanted`` (bounded),
    then answers ``expected``."""
    for unit in unit_names(model):
        answer = until(
            f"{unit}'s worker answering {wanted}",
            lambda u=unit: (
                (a := computed(model, x, y, u)) and all(a[k] == v for k, v in wanted.items()) and a
            ),
            timeout=90,
        )
        assert (answer["result"], answer["unit"]) == (expected, unit), answer


def worker_pid(model: LocalModel, unit: str) -> str:
    return model.sh(f"systemctl show -P MainPID {APP}-worker@1.service", unit).strip()


def active(model: LocalModel, unit: str, service: str) -> bool:
    return model.sh(f"systemctl is-active {APP}-{service}.service || true", unit).strip() == "active"


def stamps(model: LocalModel) -> list[tuple[int, str, str]]:
    """The beat's runs as PostgreSQL holds them: (id, unit that scheduled it, unit that ran it)."""
    return [(int(i), scheduled, ran) for i, scheduled, ran in get(model, "/stamps")]


def test_a_request_through_apache2_gets_a_result_computed_by_a_worker(shop) -> None:
    model, _ = shop
    answer = until("a task computed", lambda: computed(model, 20, 22), timeout=60)
    assert answer["result"] == 42 and answer["version"] == "v1" and answer["broker"] == "redis", answer
    for unit in unit_names(model):  # each unit's worker, its prefork child running the task
        answer = computed(model, 3, 4, unit)
        assert (answer["result"], answer["unit"]) == (7, unit), answer
        assert answer["ppid"] == int(worker_pid(model, unit)), answer
        assert active(model, unit, "worker@1")
        assert "; worker 1/1" in model.unit(unit)["message"], model.unit(unit)


def test_systemd_brings_back_a_killed_worker_which_takes_tasks(shop) -> None:
    model, _ = shop
    unit = unit_names(model)[1]
    pid = worker_pid(model, unit)
    assert pid not in ("", "0")
    model.sh(f"kill -9 {pid}", unit)
    back = until(
        "the worker started again",
        lambda: (
            (new := worker_pid(model, unit)) not in ("", "0", pid) and active(model, unit, "worker@1") and new
        ),
        timeout=30,
    )
    answer = until("a task computed by the new worker", lambda: computed(model, 5, 6, unit), timeout=60)
    assert (answer["result"], answer["unit"], answer["ppid"]) == (11, unit, int(back)), answer


def test_the_beat_runs_on_the_leader_only(shop) -> None:
    model, _ = shop
    chief = leader(model)
    follower = next(unit for unit in unit_names(model) if unit != chief)
    assert active(model, chief, "beat@1") and not active(model, follower, "beat@1")
    rows = until("three runs of the beat", lambda: len(found := stamps(model)) >= 3 and found, timeout=60)
    assert {scheduled for _, scheduled, _ in rows} == {chief}, rows
    assert {ran for _, _, ran in rows} <= set(unit_names(model)), rows


def test_a_failing_scheduled_job_shows_in_status_and_the_site_serves(shop) -> None:
    model, _ = shop
    chief = leader(model)
    until(
        "the report job failed",
        lambda: model.sh(f"systemctl show -P Result {APP}-cron-report.service", chief).strip() == "exit-code",
        timeout=90,
        interval=3,
    )
    model.cli("tick")
    info = model.unit(chief)
    assert info["workload-status"] == "active", info
    assert "last run failed: report" in info["message"], info
    assert computed(model, 1, 2)["result"] == 3
    assert "the report source is down" in model.sh(f"journalctl -t {APP}-cron-report --no-pager -q", chief)


def test_leadership_moves_the_beat(shop) -> None:
    model, _ = shop
    old = leader(model)
    new = next(unit for unit in unit_names(model) if unit != old)
    model.cli("elect", new)
    assert leader(model) == new
    until("the beat on the new leader", lambda: any(s == new for _, s, _ in stamps(model)), timeout=60)
    until("the beat stopped on the old leader", lambda: not active(model, old, "beat@1"), timeout=30)
    from_old = [row for row in stamps(model) if row[1] == old]
    last = max(row[0] for row in stamps(model))
    later = until(
        "three more runs", lambda: len(rows := [r for r in stamps(model) if r[0] > last]) >= 3 and rows, 60
    )
    assert {scheduled for _, scheduled, _ in later} == {new}, later
    assert [row for row in stamps(model) if row[1] == old] == from_old  # no run from the old leader since


def test_a_new_release_changes_what_the_workers_compute(shop) -> None:
    model, push = shop
    push("v2")
    result = model.action("redeploy", unit=leader(model))
    assert result["status"] == "completed", result
    each_worker_computes(model, 6, 7, 42, version="v2")  # v1 added


def test_celery_on_rabbitmq_runs_a_task(shop) -> None:
    model, _ = shop
    model.cli("relate", f"{APP}:amqp", "rabbitmq-server:amqp")
    model.cli("remove-relation", f"{APP}:redis", "redis:db")
    for unit in unit_names(model):
        settings = model.settings(unit)
        assert "REDIS_URL" not in settings and settings["CELERY_BROKER_URL"] == settings["AMQP_URL"]
    each_worker_computes(model, 8, 9, 72, broker="amqp")
