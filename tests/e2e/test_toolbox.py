"""The operator's toolbox on one unit with PostgreSQL (issue 19): the ``run`` action and
maintenance mode.

``run`` (through localjuju's ``run`` verb, as ``juju run`` would) is refused while no
release serves; then, with the demo serving and related to PostgreSQL, it runs a command
that prints DATABASE_URL and connects with it, as the application user in the release's
directory and virtualenv, and returns its output with the password redacted; a command
that exits non-zero or outlives its timeout fails the action, with its output, and leaves
nothing running.

Maintenance mode: a release (with its release command) deploys while the site is in
maintenance (the charm's own probe of ``/`` passes through the slot's check socket while
clients get 503); then under a steady load the mode is turned on and off: 503s with
``Retry-After`` and the operator's page only while it is on, no other failure, the health
check path answering throughout, the same gunicorn master before and after.

The machines sit on the model's own network (``deploy --isolated``); every request comes
from the model's server namespace.
"""

from __future__ import annotations

import http.client
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from localmodel import APP, UNIT, LocalModel, report

from bench.machine import isolated_wheels

PAGE = "<!DOCTYPE html><title>Bientôt</title><h1>Back at five — merci</h1>"
MARKER = f"/srv/{APP}/data/migrated"
LOAD_PATH = "/request"  # the demo's cheap page
HEALTH_PATH = "/healthz"


@pytest.fixture(scope="module")
def site(model: LocalModel, charm: Path) -> LocalModel:
    """One unit whose first source cannot be fetched (no release serves), PostgreSQL beside it."""
    model.cli("deploy", "postgresql", "--isolated")
    model.deploy(charm, "--isolated", *isolated_wheels(), app_repo="file:///nonexistent/app.git")
    return model


def unit_url(model: LocalModel, path: str) -> str:
    return f"http://{model.unit(UNIT)['address']}:8080{path}"


def run(model: LocalModel, command: str, **params: str) -> dict[str, object]:
    """The ``run`` action's outcome (completed or failed) through localjuju's ``run`` verb."""
    return model.action("run", UNIT, command=command, **params)


def test_run_is_refused_while_no_release_serves(site: LocalModel) -> None:
    assert site.unit()["workload-status"] != "active", site.unit()
    outcome = run(site, "echo hello")
    assert outcome["status"] == "failed", outcome
    assert "no release serves on this unit" in str(outcome["message"]), outcome
    assert "hello" not in str(outcome.get("results"))


def test_run_prints_and_uses_database_url_with_its_password_redacted(site: LocalModel) -> None:
    site.config(app_repo="")  # the demo, which has psycopg2
    site.cli("relate", f"{APP}:db", "postgresql:db")
    password = site.settings()["PGPASSWORD"]
    assert len(password) >= 8
    command = (
        "printenv DATABASE_URL; python -c 'import os, psycopg2; "
        'c = psycopg2.connect(os.environ["DATABASE_URL"]); '
        'cur = c.cursor(); cur.execute("select current_user"); print("connected as", cur.fetchone()[0])\''
    )
    outcome = run(site, command)
    assert outcome["status"] == "completed", outcome
    results = outcome["results"]
    assert isinstance(results, dict) and results["exit-code"] == "0", results
    output = str(results["output"])
    assert output.startswith("postgresql://") and ":<redacted>@" in output, output
    assert "connected as " in output, output
    assert password not in str(outcome), "the password reached the action's results"


def test_run_runs_as_the_app_user_in_the_release_and_its_sandbox(site: LocalModel) -> None:
    current = site.sh(f"readlink -f /srv/{APP}/current").strip()
    command = (
        "id -un; pwd; command -v python; echo $VIRTUAL_ENV; "
        "touch $APP_DATA_DIR/written && echo data-writable; "
        "touch app-probe 2>/dev/null || echo release-read-only; "
        'test -n "$SECRET_KEY" && echo has-the-settings; '
        # the service's sandbox, which a plain process of the app user has not: no new
        # privileges, and other users' processes (init's) out of sight
        "grep -q '^NoNewPrivs:[[:space:]]*1$' /proc/self/status && echo no-new-privileges; "
        "test -e /proc/1 || echo init-hidden"
    )
    outcome = run(site, command)
    assert outcome["status"] == "completed", outcome
    lines = str(outcome["results"]["output"]).splitlines()  # type: ignore[index]
    assert lines[0] == APP and lines[1] == f"{current}/app", lines
    assert lines[2].startswith(f"/srv/{APP}/") and lines[2].endswith("/bin/python"), lines
    assert lines[2] == f"{lines[3]}/bin/python", lines
    sandboxed = ["no-new-privileges", "init-hidden"]
    assert lines[4:] == ["data-writable", "release-read-only", "has-the-settings", *sandboxed], lines


def test_a_password_in_the_command_is_in_no_process_listing_or_journal_line(site: LocalModel) -> None:
    """createsuperuser --noinput takes its password from the environment: the command that
    sets it is neither on a command line (``ps`` in the run lists bash's) nor in the
    journal (systemd logs the unit's description when it starts it)."""
    marker = f"pw-{secrets.token_hex(6)}"
    since = site.sh("date '+%Y-%m-%d %H:%M:%S'").strip()
    length = "bash -c 'echo ${#DJANGO_SUPERUSER_PASSWORD}'"
    command = f"DJANGO_SUPERUSER_PASSWORD={marker} {length}; ps -eo args; true"
    outcome = run(site, command)
    assert outcome["status"] == "completed", outcome
    output = str(outcome["results"]["output"])  # type: ignore[index]
    # as bash -c runs it (systemd expanded ${...} in the old command line, to nothing here)
    assert output.splitlines()[0] == str(len(marker)), output
    # bash (kept by "; true" from being replaced by ps) lists its own command line
    assert "ps -eo args" in output and "/bin/bash -c wsgi_app_run=" in output, output
    assert marker not in output, output
    journal = site.sh(f"journalctl --no-pager --since '{since}' -o cat")
    assert f"{APP} run action" in journal, journal[-2000:]  # the unit's start was logged
    assert marker not in journal, journal[-2000:]


def test_a_failing_command_fails_the_action_with_its_output(site: LocalModel) -> None:
    outcome = run(site, "echo before the failure; exit 3")
    assert outcome["status"] == "failed", outcome
    assert outcome["message"] == "the command exited with code 3 (see output)", outcome
    assert outcome["results"] == {"exit-code": "3", "output": "before the failure\n"}, outcome


def test_the_timeout_stops_the_command_and_all_it_started(site: LocalModel) -> None:
    started = time.monotonic()
    outcome = run(site, "echo started; sleep 300 & sleep 301", timeout="3")
    assert time.monotonic() - started < 60, "the timeout did not stop the command"
    assert outcome["status"] == "failed", outcome
    assert outcome["message"] == "the command did not finish in 3s: it was stopped (see output)", outcome
    assert str(outcome["results"]["output"]).startswith("started"), outcome  # type: ignore[index]
    assert site.sh("pgrep -f 'sleep 30[01]' || true").strip() == ""
    assert site.sh(f"systemctl list-units --all --no-legend '{APP}-run-*' || true").strip() == ""


def test_a_release_and_its_command_deploy_while_in_maintenance(site: LocalModel) -> None:
    """The charm probes ``/`` (health_check_path empty) through the new slot's check socket,
    which maintenance lets through; clients asking for ``/`` get the page meanwhile."""
    before = site.sh(f"readlink /srv/{APP}/current").strip()
    site.config(maintenance="true", maintenance_page=PAGE)
    answer = get(unit_url(site, "/"), site)
    assert answer.status == 503 and answer.retry_after == "60" and answer.body == PAGE, answer
    # the text reaches sh as written: systemd expands ${...} in a unit's command line
    site.config(release_command=f"echo migrated '${{NOT_EXPANDED}}' >> {MARKER}")
    after = site.sh(f"readlink /srv/{APP}/current").strip()
    assert after != before, "no new release went live"
    assert site.sh(f"cat {MARKER}").split() == ["migrated", "${NOT_EXPANDED}"]
    info = site.unit()
    assert info["workload-status"] == "active", info
    assert str(info["message"]).startswith("maintenance mode; serving demo ("), info
    assert get(unit_url(site, "/"), site).status == 503
    site.config(maintenance="false")
    assert get(unit_url(site, "/"), site).status == 200
    assert not str(site.unit()["message"]).startswith("maintenance mode"), site.unit()


@dataclass(frozen=True)
class Answer:
    started: float
    status: int  # 0: no answer (a connection error)
    retry_after: str
    body: str
    error: str = ""


def get(url: str, model: LocalModel, timeout: float = 30) -> Answer:
    """One GET of ``url`` from the model's server namespace."""
    from localjuju import network

    answers: list[Answer] = []
    network.call_in(f"lj-{model.name}-srv", lambda: answers.append(_get(url, timeout)))
    return answers[0]


def _get(url: str, timeout: float) -> Answer:
    host, _, rest = url.removeprefix("http://").partition(":")
    port, _, path = rest.partition("/")
    assert host.startswith("10.231.0."), url  # the model's own network only
    started = time.monotonic()
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request("GET", "/" + path)
        response = connection.getresponse()
        body = response.read().decode()
        return Answer(started, response.status, response.getheader("Retry-After") or "", body)
    except (OSError, http.client.HTTPException) as error:
        return Answer(started, 0, "", "", f"{type(error).__name__}: {error}")
    finally:
        connection.close()


class Recorder:
    """GETs of ``url`` in a loop from the model's server namespace, every answer kept;
    bounded in time (``max_seconds``) and paced (``pause``)."""

    def __init__(self, model: LocalModel, url: str, max_seconds: float = 240, pause: float = 0.02):
        self.netns, self.url, self.pause = f"lj-{model.name}-srv", url, pause
        self.deadline = time.monotonic() + max_seconds
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        from localjuju import network

        with network.entered(self.netns):
            while not self._stop.is_set() and time.monotonic() < self.deadline:
                self.answers.append(_get(self.url, 30))
                self._stop.wait(self.pause)

    def __enter__(self) -> Recorder:
        self._thread.start()
        time.sleep(1)
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(1)
        self._stop.set()
        self._thread.join(timeout=60)


def workers(model: LocalModel, master: int) -> list[str]:
    """The PIDs of the gunicorn master's workers (a reload replaces them all)."""
    return sorted(model.sh(f"pgrep -P {master} || true").split())


def test_maintenance_on_and_off_under_load(site: LocalModel) -> None:
    """503 with Retry-After and the page only while the mode is on, every other answer a
    200 (no connection error, no other 5xx), the health check path answering 200 all
    along, the same gunicorn master and workers throughout: no restart, no reload."""
    site.config(health_check_path=HEALTH_PATH, maintenance_page=PAGE)  # the path: exempt for everyone
    master = site.main_pid()
    before = workers(site, master)
    assert len(before) >= 2, before
    windows: list[tuple[float, float, float, float]] = []  # (on asked, on done, off asked, off done)
    with (
        Recorder(site, unit_url(site, LOAD_PATH)) as load,
        Recorder(site, unit_url(site, HEALTH_PATH)) as health,
    ):
        for _ in range(2):
            on_asked = time.monotonic()
            site.config(maintenance="true")
            on_done = time.monotonic()
            time.sleep(3)
            off_asked = time.monotonic()
            site.config(maintenance="false")
            windows.append((on_asked, on_done, off_asked, time.monotonic()))
            time.sleep(3)
    assert site.main_pid() == master, "gunicorn was restarted"
    assert workers(site, master) == before, "gunicorn's workers were replaced (a reload)"
    unhealthy = [a for a in health.answers if a.status != 200]
    assert not unhealthy, unhealthy[:5]
    failed = [a for a in load.answers if a.status not in (200, 503)]
    assert not failed, failed[:5]
    for answer in load.answers:
        inside = any(on_asked <= answer.started <= off_done for on_asked, _, _, off_done in windows)
        surely_on = any(
            on_done <= answer.started and answer.started + 0.1 < off_asked
            for _, on_done, off_asked, _ in windows
        )
        if answer.status == 503:
            assert inside and answer.retry_after == "60" and answer.body == PAGE, answer
        elif surely_on:
            raise AssertionError(f"a 200 while maintenance was on: {answer}")
    on = [a for a in load.answers if a.status == 503]
    assert len(on) >= 20 and len(load.answers) - len(on) >= 20, (len(on), len(load.answers))
    assert len(health.answers) >= 40, len(health.answers)
    report(
        f"toolbox: maintenance switched on and off twice under load: {len(load.answers)} requests, "
        f"{len(on)} answered 503 while on, none failed; {len(health.answers)} health checks, all 200"
    )
    assert "maintenance mode" not in str(site.unit()["message"])
