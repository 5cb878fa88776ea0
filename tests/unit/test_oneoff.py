"""The ``run`` action: one command in the serving release, confined as the service, its
output redacted and bounded; refused where nothing serves."""

from __future__ import annotations

import base64
import fnmatch
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from conftest import SECRET

from charms.layer.wsgi_app import actions, confined, oneoff, releases
from charms.layer.wsgi_app.confined import Finished, Sandbox, read_tail
from charms.layer.wsgi_app.errors import DeployError
from charms.layer.wsgi_app.logs import MAX_OUTPUT
from charms.layer.wsgi_app.releases import Release
from charms.layer.wsgi_app.settings_file import decode

SERVING = Release(
    "20261205120000-1a2b3c4", "1a2b3c4" * 5, "shop", "1a2b3c4", "mysite.wsgi:application",
    "/srv/shop/venvs/v1", "s", 0.0, environment=(("WSGI_APP_DJANGO_SETTINGS", "mysite.settings"),),
)  # fmt: skip


def test_the_command_and_timeout_are_checked():
    assert oneoff.checked("python manage.py check", 300) == ("python manage.py check", 300)
    assert oneoff.checked(" ls ", None) == ("ls", oneoff.DEFAULT_TIMEOUT)
    for command, timeout, problem in (
        ("", 300, "command is empty"),
        ("echo \x00", 300, "control character"),
        ("x" * (oneoff.MAX_COMMAND + 1), 300, "longer than"),
        ("ls", 0, "1-3600"),
        ("ls", 3601, "1-3600"),
        ("ls", True, "1-3600"),
        ("ls", "60", "1-3600"),
    ):
        with pytest.raises(DeployError, match=problem):
            oneoff.checked(command, timeout)


def test_the_run_units_sweep_matches_them_alone():
    """A run's unit is swept by the next run; the glob matches no process type's instance
    (run-x@1), build step, job, or unit of an application named like it (shop-run)."""
    pattern = oneoff.leftovers_pattern("shop")
    assert fnmatch.fnmatch(oneoff.unit_name("shop", 42), pattern)
    assert oneoff.unit_name("shop", 42) == "shop-run-0000000042.service"
    for other in (
        "shop-run-worker@1.service",
        "shop-run-1234567890@1.service",
        "shop-run-build-release-command-1a2b3c4d.service",
        "shop-run-cron-cleanup.service",
        "shop-run-metrics.service",
        "shop-runner-0000000042.service",
        "shop-build-release-command-1a2b3c4d.service",
    ):
        assert not fnmatch.fnmatch(other, pattern), other


def test_no_serving_release_refuses(django_state, monkeypatch):
    monkeypatch.setattr(releases, "current", lambda paths: None)
    with pytest.raises(DeployError, match="no release serves on this unit"):
        oneoff.run(django_state, "ls", 10, [])


def test_the_command_runs_confined_in_the_release_with_the_apps_settings(django_state, monkeypatch):
    """Where, how and with what the command runs: bash -c in the release's app directory,
    the app's settings and the release's own in the environment file (never the command
    line), its virtualenv first on PATH; what it printed comes back redacted."""
    monkeypatch.setattr(releases, "current", lambda paths: SERVING)
    calls = []

    def execute(self, unit, argv, *, cwd, writable=(), env=None, timeout, limit=0, description=""):
        calls.append((self, unit, argv, cwd, env, timeout))
        printed = f"DATABASE_URL={env['DATABASE_URL']}\nkey {SECRET}\npg pa:ss@word\nother {'hidden-value'}\n"
        return Finished(0, printed, False)

    swept = []
    monkeypatch.setattr(Sandbox, "execute", execute)
    monkeypatch.setattr(Sandbox, "stop", lambda self, pattern: swept.append(pattern))
    ran = oneoff.run(django_state, "python manage.py dbshell -c 'select 1'", 42, ["hidden-value"])
    ((confined, unit, argv, cwd, env, timeout),) = calls
    assert argv == ["/bin/bash", "-c", oneoff.RUNNER]
    assert base64.b64decode(env[oneoff.COMMAND_VARIABLE]).decode() == "python manage.py dbshell -c 'select 1'"
    assert cwd == django_state.paths.releases / SERVING.id / "app" and timeout == 42
    assert confined.account.user == "shop" and fnmatch.fnmatch(unit, swept[0])
    assert env["PATH"].startswith("/srv/shop/venvs/v1/bin:") and env["VIRTUAL_ENV"] == "/srv/shop/venvs/v1"
    assert env["SECRET_KEY"] == SECRET and env["WSGI_APP_DJANGO_SETTINGS"] == "mysite.settings"
    assert env["DJANGO_SETTINGS_MODULE"] == "mysite.settings" and env["PYTHONUNBUFFERED"] == "1"
    assert SECRET not in " ".join(argv)
    assert ran.exit_code == 0 and not ran.timed_out
    assert ran.output == (
        "DATABASE_URL=postgresql://shop_rw:<redacted>@10.0.0.5:5432/shop\n"
        "key <redacted>\npg <redacted>\nother <redacted>\n"
    )


PASSWORD_COMMAND = "DJANGO_SUPERUSER_PASSWORD='s3cret-Pw' python manage.py createsuperuser --noinput"


def test_the_command_stays_out_of_every_command_line_unit_property_and_the_journal(django_state, monkeypatch):
    """A command may carry a password (``DJANGO_SUPERUSER_PASSWORD=... manage.py
    createsuperuser --noinput``): it reaches bash in the root-only environment file, not on
    systemd-run's command line or bash's (``ps`` shows both to every local user), and the
    unit's description (``systemctl status`` for anyone; systemd logs it when it starts
    the unit) is not the command line, systemd-run's default."""
    monkeypatch.setattr(releases, "current", lambda paths: SERVING)
    monkeypatch.setattr(Sandbox, "stop", lambda self, pattern: None)
    written, started = [], []
    monkeypatch.setattr(confined, "write_atomically", lambda path, text, *a, **k: written.append(text))

    real = subprocess.Popen

    def popen(argv, **kwargs):
        started.append(argv)
        return real(["true"], **kwargs)

    monkeypatch.setattr(confined.subprocess, "Popen", popen)
    oneoff.run(django_state, PASSWORD_COMMAND, 42, [])
    ((argv,),) = [started]
    assert not [arg for arg in argv if "s3cret" in arg or "createsuperuser" in arg], argv
    (description,) = [arg for arg in argv if arg.startswith("--description=")]
    assert description == f"--description={django_state.app_name} run action"
    settings = decode(written[0])
    assert base64.b64decode(settings[oneoff.COMMAND_VARIABLE]).decode() == PASSWORD_COMMAND


def test_a_dollar_reaches_the_confined_command_as_it_is(django_state, monkeypatch):
    """systemd expands ``${NAME}`` anywhere and ``$NAME`` as a whole argument of a unit's
    command line, with the unit's environment (the settings): a release_command
    ``echo '${X:-none}'`` lost it, ``echo ${DATABASE_URL}`` put the password on sh's
    command line. Each ``$`` goes to systemd-run as ``$$``, which systemd turns back into one."""
    started = []
    real = subprocess.Popen

    def popen(argv, **kwargs):
        started.append(argv)
        return real(["true"], **kwargs)

    monkeypatch.setattr(confined.subprocess, "Popen", popen)
    monkeypatch.setattr(confined, "write_atomically", lambda *a, **k: None)
    monkeypatch.setattr(Sandbox, "stop", lambda self, pattern: None)
    step = ["/bin/sh", "-c", "echo '${X:-none}' $HOME; echo ${DATABASE_URL}"]
    Sandbox.for_state(django_state).run("release_command", step, cwd=django_state.paths.data, timeout=5)
    ((argv,),) = [started]
    assert argv[argv.index("--") + 1 :] == [
        "/bin/sh",
        "-c",
        "echo '$${X:-none}' $$HOME; echo $${DATABASE_URL}",
    ]


def test_bash_runs_the_command_from_its_environment_as_bash_c_would():
    """Lines, quotes, pipes and the exit status as ``bash -c`` takes them; what the command
    starts does not inherit the variable."""
    command = 'printf \'%s\\n\' "one two" three | tail -1\necho "[$WSGI_APP_RUN_COMMAND]"; exit 4'
    env = {"PATH": "/usr/bin:/bin", oneoff.COMMAND_VARIABLE: base64.b64encode(command.encode()).decode()}
    ran = subprocess.run(["/bin/bash", "-c", oneoff.RUNNER], env=env, capture_output=True, text=True)
    assert (ran.returncode, ran.stdout, ran.stderr) == (4, "three\n[]\n", "")


def test_a_failure_or_a_timeout_is_said_with_the_output_kept():
    assert oneoff.failure(oneoff.shown(Finished(0, "ok\n", False), []), 5) == ""
    failed = oneoff.shown(Finished(3, "boom\n", False), [])
    assert oneoff.failure(failed, 5) == "the command exited with code 3 (see output)"
    stopped = oneoff.shown(Finished(-1, "slow\n", True), [])
    assert oneoff.failure(stopped, 5) == "the command did not finish in 5s: it was stopped (see output)"


def test_the_output_is_bounded_from_a_line_start():
    long = "".join(f"line {n}\n" for n in range(40_000))
    shown = oneoff.shown(Finished(0, long, False), [])
    assert len(shown.output) <= MAX_OUTPUT and shown.output.startswith("line ")
    assert shown.output.endswith("line 39999\n")


def test_read_tail_keeps_the_end_of_a_long_output_from_a_line_start():
    code = "import sys\nfor n in range(100000): sys.stdout.write(f'row {n}\\n')\n"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    with process:
        output, ended = read_tail(process, 1000, time.monotonic() + 60)
    assert ended and process.returncode == 0
    assert len(output) <= 1000 and output.startswith("row ") and output.endswith("row 99999\n")


def test_read_tail_keeps_the_end_of_one_long_line_from_a_character_start():
    """``manage.py dumpdata`` prints its JSON on one line: a long one is kept (its end,
    from a whole character), not dropped whole."""
    code = "import sys\nsys.stdout.write('[' + 'é' * 5000 + ']')\n"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    with process:
        output, ended = read_tail(process, 1002, time.monotonic() + 60)  # half a character in
    assert ended and output == "é" * 500 + "]"


def test_read_tail_gives_up_at_the_deadline():
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; print('started', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE,
    )
    with process:
        output, ended = read_tail(process, 1000, time.monotonic() + 1.5)
        process.kill()
    assert not ended and output == "started\n"


def test_the_action_sets_exit_code_and_output_and_fails_on_a_non_zero_exit(django_state, monkeypatch):
    params = {"command": "python manage.py migrate --check", "timeout": 60}
    results, failures = {}, []
    monkeypatch.setattr(actions.hookenv, "action_get", params.get)
    monkeypatch.setattr(actions.hookenv, "action_set", results.update)
    monkeypatch.setattr(actions.hookenv, "action_fail", failures.append)
    monkeypatch.setattr(actions.hookenv, "log", lambda *a, **k: None)
    monkeypatch.setattr(actions, "_state", lambda: django_state)
    monkeypatch.setattr(actions, "_secrets", lambda state: [])
    monkeypatch.setattr(actions.sys, "argv", ["actions/run"])
    monkeypatch.setattr(actions.memory, "commit", lambda: None)
    monkeypatch.setattr(actions.unitdata, "kv", lambda: type("KV", (), {"flush": lambda self: None})())
    outcomes = iter([oneoff.Ran(0, "No changes\n", False), oneoff.Ran(1, "unapplied\n", False)])
    monkeypatch.setattr(oneoff, "run", lambda state, command, timeout, hidden: next(outcomes))
    actions.main()
    assert results == {"exit-code": "0", "output": "No changes\n"} and failures == []
    actions.main()
    assert results == {"exit-code": "1", "output": "unapplied\n"}
    assert failures == ["the command exited with code 1 (see output)"]
    monkeypatch.setattr(oneoff, "run", lambda *a: (_ for _ in ()).throw(DeployError("no release serves")))
    actions.main()
    assert failures[-1] == "no release serves"


def test_secrets_come_from_the_computed_settings_and_the_file_on_disk(django_state, tmp_path, monkeypatch):
    from charms.layer.wsgi_app.paths import Paths

    paths = Paths.for_app("shop", root=tmp_path / "srv", etc=tmp_path / "etc")
    paths.etc.mkdir(parents=True)
    paths.settings_file.write_text('SECRET_KEY="an-older-rotated-key"\n')
    monkeypatch.setattr(type(django_state), "paths", property(lambda self: paths))
    hidden = actions._secrets(replace(django_state))
    assert SECRET in hidden and "an-older-rotated-key" in hidden and "pa:ss@word" in hidden
