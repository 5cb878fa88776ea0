"""The demo app with default config: deploy, settings changes, no-op hooks, reboot (start)."""

from __future__ import annotations

import json

import pytest
from localmodel import APP, LocalModel, http_get

from charms.layer.wsgi_app import settings_file

URL = "http://127.0.0.1:8080"


@pytest.fixture(scope="module")
def demo(deployed: LocalModel) -> LocalModel:
    return deployed


def test_demo_is_active_and_serves_its_page(demo: LocalModel) -> None:
    unit = demo.unit()
    assert unit["workload-status"] == "active", unit
    assert unit["message"].startswith("serving demo ("), unit
    assert unit["open-ports"] == ["8080/tcp"]
    version = demo.version()
    assert len(version) == 7 and version in unit["message"]

    page = http_get(f"{URL}/")
    assert page.status == 200
    assert "wsgi-app" in page.body and "sqlite:///" in page.body
    health = http_get(f"{URL}/healthz").json()
    assert health["status"] == "ok"
    assert health["backends"]["database"]["ok"] is True, health


def test_secret_key_is_shared_but_never_shown(demo: LocalModel) -> None:
    secret = demo.settings()["SECRET_KEY"]
    assert len(secret) >= 32
    assert secret not in http_get(f"{URL}/").body
    assert secret not in demo.cli("debug-log", "--replay").stdout
    shown = demo.action("show-settings")
    assert shown["status"] == "completed" and secret not in str(shown)
    assert "SECRET_KEY=<redacted>" in shown["results"]["settings"]
    assert secret not in demo.sh("ps -eo args")  # not on any command line
    assert secret not in str(demo.status())


def test_service_runs_unprivileged_and_settings_are_private(demo: LocalModel) -> None:
    assert demo.sh(f"systemctl show -P User {demo.serving_unit()}").strip() == APP
    owners = set(demo.sh(f"ps -o user= --ppid $(systemctl show -P MainPID {demo.serving_unit()})").split())
    assert owners == {APP}, owners  # the workers
    mode = demo.sh(f"stat -c '%a %U %G' /etc/{APP}/settings.env").split()
    assert mode == ["640", "root", APP]
    # the service sees its code read-only: only its data and runtime directories are writable
    sandbox = demo.sh(
        f"systemctl show -P ProtectSystem -P NoNewPrivileges -P ReadWritePaths {demo.serving_unit()}"
    )
    assert sorted(sandbox.split()) == sorted(["strict", "yes", f"/srv/{APP}/data"]), sandbox


def test_environment_change_reaches_the_app_without_dropping_the_master(demo: LocalModel) -> None:
    assert http_get(f"{URL}/env?GREETING").json()["set"] is False
    demo.config(environment="GREETING=hello from e2e")
    answer = demo.wait_serving(f"{URL}/env?GREETING").json()
    assert answer == {"name": "GREETING", "set": True, "value": "hello from e2e"}
    assert demo.unit()["workload-status"] == "active"


def test_an_action_the_charm_does_not_define_is_refused(demo: LocalModel) -> None:
    refused = demo.action("no-such-action")
    message = f'action "no-such-action" not defined on unit "{APP}/0"'
    assert refused == {"status": "refused", "message": message}, refused


def test_noop_config_changed_and_update_status_restart_nothing(demo: LocalModel) -> None:
    pid = demo.main_pid()
    workers = demo.sh(f"ps -o pid= --ppid {pid}").split()
    demo.cli("run-hook", "wsgi-app/0", "config-changed")
    demo.cli("run-hook", "wsgi-app/0", "update-status")
    demo.cli("config", APP, "environment=GREETING=hello from e2e")  # the same value again
    assert demo.main_pid() == pid
    assert demo.sh(f"ps -o pid= --ppid {pid}").split() == workers  # not even a reload
    assert demo.unit()["workload-status"] == "active"


def test_reboot_runs_start_which_restarts_nothing(demo: LocalModel) -> None:
    """Juju runs ``start`` after a reboot (and no hook at shutdown); systemd has brought the
    app back already, and ``start`` with nothing changed must leave it alone."""
    hooks = demo.hooks_run()
    seen = len(demo.cli("debug-log", "--replay").stdout.splitlines())
    old_pid = demo.main_pid()
    demo.cli("reboot", "wsgi-app/0")
    health = demo.wait_serving(f"{URL}/healthz", timeout=90).json()
    assert health["status"] == "ok"
    assert http_get(f"{URL}/env?GREETING").json()["value"] == "hello from e2e"
    assert demo.hooks_run() == hooks + 1
    since = "\n".join(demo.cli("debug-log", "--replay").stdout.splitlines()[seen:])
    assert "Reactive main running for hook start" in since, since[-2000:]
    assert demo.main_pid() != old_pid
    started = demo.sh(f"journalctl -b -o cat -u {demo.serving_unit()} | grep -c '^Started ' || true")
    assert started.strip() == "1", started  # once, by systemd at boot: start did not restart it
    assert demo.unit()["workload-status"] == "active"


def test_systemd_sandbox_exposure_is_ok(demo: LocalModel) -> None:
    report = demo.sh(f"systemd-analyze security {demo.serving_unit()} 2>&1")
    line = next(line for line in report.splitlines() if "Overall exposure level" in line)
    exposure = float(line.split(":")[1].split()[0])
    print(line)
    assert exposure <= 1.3, report
    assert http_get(f"{URL}/healthz").json()["status"] == "ok"  # and the app still works inside it


def test_systemd_and_gunicorn_read_the_settings_file_as_the_charm_wrote_it(demo: LocalModel) -> None:
    """A value with quotes, backslashes, ``$``, backquotes, ``%`` and non-ASCII text reaches the
    app unchanged (gunicorn.conf.py's reader), is what show-settings shows, and systemd's own
    EnvironmentFile parser reads every setting of the file as settings_file.decode does."""
    value = "say \"hi\" 'there' `id` $HOME ${PATH} \\n\\\\ 100% #x héllo ✓ 𝄞"
    demo.config(environment=f"TRICKY={value}")
    assert demo.wait_serving(f"{URL}/env?TRICKY").json()["value"] == value
    assert f"TRICKY={value}" in demo.action("show-settings")["results"]["settings"].splitlines()
    on_disk = settings_file.decode(demo.sh(f"cat /etc/{APP}/settings.env"))
    assert on_disk["TRICKY"] == value
    dump = "python3 -c 'import json, os; print(json.dumps(dict(os.environ)))'"
    seen = json.loads(
        demo.sh(f"systemd-run --quiet --pipe --wait -p EnvironmentFile=/etc/{APP}/settings.env {dump}")
    )
    differing = sorted(name for name, setting in on_disk.items() if seen.get(name) != setting)
    assert differing == [], differing  # names only: the values hold secrets
    demo.config(environment="GREETING=hello from e2e")
