"""The rendered unit, gunicorn config and settings file, for the demo and a Django app."""

from __future__ import annotations

import ast
import copy
import os
import shutil
import subprocess
import sys
from dataclasses import replace

import pytest
from conftest import ROOT, SECRET, exec_conf

from charms.layer.wsgi_app.environment import app_settings, looks_secret, redact
from charms.layer.wsgi_app.releases import Release
from charms.layer.wsgi_app.render import render_all, render_job_units, unit_arg, unit_env, unit_value
from charms.layer.wsgi_app.state import WsgiState


def directives(unit_text):
    found = {}
    for line in unit_text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            found.setdefault(key, []).append(value)
    return found


def test_demo_settings_have_the_defaults(demo_state):
    settings = app_settings(demo_state)
    assert settings["PORT"] == "8080"
    assert settings["WEB_CONCURRENCY"] == "5"  # 2 cores, 4 GiB
    assert settings["SECRET_KEY"] == SECRET
    assert settings["DATABASE_URL"] == "sqlite:////srv/wsgi-app/data/db.sqlite3"
    assert "PGPASSWORD" not in settings and "MEMCACHE_SERVERS" not in settings


def test_django_settings_merge_relations_user_and_charm(django_state):
    settings = app_settings(django_state)
    assert settings["DATABASE_URL"] == "postgresql://shop_rw:pa%3Ass%40word@10.0.0.5:5432/shop"
    assert settings["DATABASE_READ_URLS"] == "postgresql://shop_rw:pa%3Ass%40word@10.0.0.6:5432/shop"
    assert settings["PGPASSWORD"] == "pa:ss@word"
    assert settings["MEMCACHE_SERVERS"] == "10.0.0.7:11211"
    assert settings["DJANGO_SETTINGS_MODULE"] == "mysite.settings"
    assert settings["WEB_CONCURRENCY"] == "3" and settings["PORT"] == "8000"


def test_a_reload_forgets_removed_settings(django_state, tmp_path, monkeypatch):
    """gunicorn keeps its environment across reloads; the conf drops what was removed."""
    monkeypatch.setenv("WSGI_APP_SETTING_NAMES", "KEPT,GONE")
    monkeypatch.setenv("GONE", "old value")
    monkeypatch.setenv("KEPT", "1")
    monkeypatch.setenv("NOT_OURS", "x")
    exec_conf(django_state, tmp_path, settings='KEPT="1"\n')
    assert "GONE" not in os.environ and os.environ["KEPT"] == "1" and os.environ["NOT_OURS"] == "x"


def test_a_setting_the_slot_started_with_is_gone_after_a_reload_that_removed_it(
    django_state, tmp_path, monkeypatch
):
    """As gunicorn reloads: the first load's names outlive its reset of raw_env's keys
    (deleted, or put back to the service's starting values), so a setting the slot
    started with (REDIS_URL from the settings file) is dropped once the file lost it."""
    monkeypatch.setenv("REDIS_URL", "redis://old")  # systemd's EnvironmentFile at start
    monkeypatch.delenv("WSGI_APP_SETTING_NAMES", raising=False)
    first = exec_conf(django_state, mkdir(tmp_path / "first"), settings='REDIS_URL="redis://old"\n')
    raw_env_names = [item.split("=", 1)[0] for item in first["raw_env"]]
    assert "WSGI_APP_SETTING_NAMES" not in raw_env_names  # gunicorn deletes raw_env's keys on reload
    monkeypatch.setenv("WSGI_APP_SETTING_NAMES", first["setting_names"])  # the master's own environment
    monkeypatch.setenv("REDIS_URL", "redis://old")  # put back by gunicorn's reload
    exec_conf(django_state, mkdir(tmp_path / "second"), settings='AMQP_URL="amqp://new"\n')
    assert "REDIS_URL" not in os.environ


def test_gunicorn_conf_reads_the_settings_file_like_systemd(django_state, tmp_path):
    ast.parse(render_all(django_state).gunicorn_conf)  # valid Python
    namespace = exec_conf(django_state, tmp_path, wsgi_app="mysite.wsgi:application")
    received = dict(item.split("=", 1) for item in namespace["raw_env"])
    assert namespace["setting_names"] == ",".join(app_settings(django_state))
    assert received == app_settings(django_state)
    assert served(namespace) == ("mysite.wsgi:application", "/etc/shop/maintenance.html", "", False)
    assert namespace["workers"] == 3 and namespace["threads"] == 32
    assert namespace["worker_connections"] == 33
    assert namespace["worker_class"] == "gthread"
    assert namespace["worker_tmp_dir"] == "/run/shop/a"  # RUNTIME_DIRECTORY of slot a
    assert namespace["control_socket"] == "/run/shop/a/gunicorn.ctl"
    assert namespace["proc_name"] == "shop@a"
    assert namespace["max_requests"] == 2000 and namespace["max_requests_jitter"] == 200
    assert namespace["chdir"] == str((tmp_path / "releases" / "r1" / "app").resolve())


def test_redaction_hides_secrets(django_state):
    shown = redact(app_settings(django_state))
    joined = "\n".join(f"{k}={v}" for k, v in shown.items())
    assert SECRET not in joined and "pa:ss@word" not in joined and "pa%3Ass%40word" not in joined
    assert shown["SECRET_KEY"] == "<redacted>"
    assert shown["DATABASE_URL"] == "postgresql://shop_rw:<redacted>@10.0.0.5:5432/shop"
    assert shown["PORT"] == "8000"


@pytest.mark.parametrize(
    "key",
    [
        "SECRET_KEY",
        "PGPASSWORD",
        "SMTP_PASSWORD",
        "LDAP_BIND_PASSWD",
        "AWS_SECRET_ACCESS_KEY",
        "GITHUB_TOKEN",
        "STRIPE_API_KEY",
        "SIGNING_KEY",
        "KEY",
        "SENTRY_DSN",
        "BASIC_AUTH",
        "OAUTH_CLIENT_SECRET",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "JWT_PRIVATE_PEM",
        "api_token",
    ],
)
def test_the_usual_secret_names_are_redacted(key):
    assert looks_secret(key)
    assert redact({key: "hunter2"}) == {key: "<redacted>"}


@pytest.mark.parametrize("key", ["PORT", "DATABASE_URL", "MEMCACHE_SERVERS", "KEYBOARD_LAYOUT", "APP_UNIT"])
def test_other_settings_are_shown(key):
    assert not looks_secret(key)
    assert redact({key: "plain"}) == {key: "plain"}


def test_a_release_checked_as_asgi_runs_uvicorn_workers_with_one_thread(demo_state, tmp_path):
    from dataclasses import replace

    state = replace(demo_state, release_worker_class="uvicorn")
    namespace = exec_conf(state, tmp_path)
    assert namespace["worker_class"] == "wsgi_app_uvicorn.UvicornWorker"
    assert namespace["pythonpath"] == "/usr/local/lib/wsgi-app/python"
    assert namespace["threads"] == 1 and namespace["workers"] == demo_state.workers


def test_the_worker_class_is_the_releases_else_the_configured_one(demo_state, tmp_path):
    from dataclasses import replace

    from charms.layer.wsgi_app.config import parse_config
    from charms.layer.wsgi_app.workers import DEFAULT_THREADS, worker_connections

    assert demo_state.config.worker_class == "auto"
    assert (demo_state.worker_class, demo_state.threads) == ("gthread", DEFAULT_THREADS)  # auto, no release
    assert demo_state.worker_connections == worker_connections(DEFAULT_THREADS, "gthread")  # gthread's cap
    assert served(exec_conf(demo_state, tmp_path))[3] is False  # a WSGI app's wrapper
    sync = replace(demo_state, config=parse_config({"worker_class": "sync", "threads": 8}))
    assert (sync.worker_class, sync.threads) == ("sync", 1)
    checked = replace(demo_state, config=parse_config({"threads": 8}), release_worker_class="gthread")
    assert (checked.worker_class, checked.threads) == ("gthread", 8)
    asgi = replace(checked, release_worker_class="uvicorn")
    assert (asgi.worker_class, asgi.threads) == ("uvicorn", 1)


def test_a_release_with_static_mounts_runs_the_charms_wrapper_around_its_entry_point(demo_state, tmp_path):
    namespace = exec_conf(demo_state, tmp_path, wsgi_app="app:make()", static=[["/assets/", "/r/static/0"]])
    release_dir = str((tmp_path / "releases" / "r1").resolve())
    assert served(namespace)[0] == f"wsgi_app_static:application({release_dir!r})"
    assert namespace["pythonpath"] == "/usr/local/lib/wsgi-app/python"
    assert namespace["chdir"] == os.path.join(release_dir, "app")
    (tmp_path / "plain").mkdir()
    assert served(exec_conf(demo_state, tmp_path / "plain", wsgi_app="app:make()"))[0] == "app:make()"


def served(namespace):
    """The arguments of the maintenance wrapper gunicorn serves (every release runs through
    it): the release's entry point, the flag file, the health check path, ASGI or not."""
    module, _, call = namespace["wsgi_app"].partition(":")
    assert module == "wsgi_app_maintenance" and namespace["pythonpath"] == "/usr/local/lib/wsgi-app/python"
    expression = ast.parse(call, mode="eval").body
    assert isinstance(expression, ast.Call) and expression.func.id == "application"
    return tuple(ast.literal_eval(argument) for argument in expression.args)


def test_every_release_is_served_through_the_maintenance_wrapper(demo_state, tmp_path):
    """The wrapper knows the flag file, the health check path (without its query) and
    whether the app speaks ASGI (a uvicorn release)."""
    from dataclasses import replace

    from charms.layer.wsgi_app.config import parse_config

    state = replace(demo_state, config=parse_config({"health_check_path": "/healthz?full=1"}))
    assert served(exec_conf(state, mkdir(tmp_path / "wsgi")))[1:] == (
        "/etc/wsgi-app/maintenance.html",
        "/healthz?full=1",
        False,
    )
    asgi = replace(state, release_worker_class="uvicorn")
    assert served(exec_conf(asgi, mkdir(tmp_path / "asgi")))[3] is True


def mkdir(path):
    path.mkdir()
    return path


def test_the_settings_a_release_adds_go_over_the_files_and_leave_with_it(django_state, tmp_path, monkeypatch):
    """A Django release's overlay settings reach the app over the settings file's (the
    operator's DJANGO_SETTINGS_MODULE included), with the charm's modules on the path; a
    release without them (a rollback) takes them away on the next load."""
    overlay = [
        ["DJANGO_SETTINGS_MODULE", "wsgi_app_django_settings"],
        ["WSGI_APP_DJANGO_SETTINGS", "mysite.settings"],
    ]
    namespace = exec_conf(
        django_state, mkdir(tmp_path / "new"), wsgi_app="mysite.wsgi:application", environment=overlay
    )
    received = dict(item.split("=", 1) for item in namespace["raw_env"])
    assert received["DJANGO_SETTINGS_MODULE"] == "wsgi_app_django_settings"
    assert received["WSGI_APP_DJANGO_SETTINGS"] == "mysite.settings"
    assert "WSGI_APP_DJANGO_SETTINGS" in namespace["setting_names"].split(",")
    assert namespace["pythonpath"] == "/usr/local/lib/wsgi-app/python"
    monkeypatch.setenv("WSGI_APP_SETTING_NAMES", namespace["setting_names"])
    monkeypatch.setenv("WSGI_APP_DJANGO_SETTINGS", "mysite.settings")
    older = exec_conf(django_state, mkdir(tmp_path / "old"), wsgi_app="mysite.wsgi:application")
    assert "WSGI_APP_DJANGO_SETTINGS" not in os.environ
    assert (
        dict(item.split("=", 1) for item in older["raw_env"])["DJANGO_SETTINGS_MODULE"] == "mysite.settings"
    )


HOSTILE = '\'"\\\n__import__("os").system("id")  # """ \'\'\' {{ 7*7 }} %(h)s $HOME `id` \x00\u202e'


def _shape(tree: ast.AST) -> str:
    """The syntax tree with every literal blanked: what the file does, whatever it holds."""

    class Blank(ast.NodeTransformer):
        def visit_Constant(self, node: ast.Constant) -> ast.Constant:
            return ast.Constant(value=type(node.value).__name__)

    return ast.dump(Blank().visit(copy.deepcopy(tree)))


def _literals(tree: ast.Module) -> dict[str, object]:
    """Top-level ``NAME = <literal>`` assignments."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
    return found


def test_hostile_config_and_relation_values_are_only_ever_literals_in_gunicorn_conf(demo_state):
    """Every string field that comes from config or relation data holds code-like text;
    the rendered gunicorn.conf.py must do exactly what a benign one does (same syntax
    tree, literals aside) and hold each hostile value as one literal, unchanged."""
    from dataclasses import replace

    from charms.layer.wsgi_app.integrations import Integrations

    def state(text: str, number: int):
        config = replace(
            demo_state.config,
            access_log_format=f"a{text}",
            log_level=f"l{text}",
            statsd_host=f"s{text}",
            worker_class="uvicorn",
            workers=number,
            threads=number,
            timeout=number,
            max_requests=number,
            max_requests_jitter=number,
        )
        return replace(
            demo_state,
            unit_name=f"u{text}/0",
            config=config,
            integrations=Integrations(proxies=(f"p{text}",)),
        )

    benign = ast.parse(render_all(state("x", 3)).gunicorn_conf)
    hostile = ast.parse(render_all(state(HOSTILE, 2**63)).gunicorn_conf)
    assert _shape(hostile) == _shape(benign)
    values = _literals(hostile)
    assert values["access_log_format"] == f"a{HOSTILE}"
    assert values["loglevel"] == f"l{HOSTILE}"
    assert str(values["forwarded_allow_ips"]).startswith(f"p{HOSTILE},")  # and its ::ffff: form
    assert values["statsd_host"] == f"s{HOSTILE}"
    assert values["workers"] == values["timeout"] == values["max_requests"] == 2**63


def test_unit_values_cannot_end_the_line_expand_or_split():
    assert unit_value("a%i\\b\nExecStartPre=/bin/sh\x7f") == "a%%i\\\\b\\x0aExecStartPre=/bin/sh\\x7f"
    assert unit_value("75%", specifiers=False) == "75%"
    assert unit_arg('x" --evil $HOME %n') == '"x\\" --evil $$HOME %%n"'


def test_environment_assignments_stay_one_assignment_and_keep_dollars():
    """``Environment=`` splits on spaces and expands specifiers, not ``$``: a value is one
    quoted assignment with ``%`` doubled and ``$`` as it is (``$$`` would stay ``$$``)."""
    hostile = 'w x" Y=1 $HOME %n\\\n'
    assert unit_env(hostile, "WSGI_APP_PROCESS") == '"WSGI_APP_PROCESS=w x\\" Y=1 $HOME %%n\\\\\\x0a"'
    with pytest.raises(ValueError):
        unit_env("x", "A B")


def test_hostile_config_and_relation_values_add_no_line_to_any_unit(demo_state):
    """The unit files rendered from hostile values have the same lines and directives as
    benign ones: a value can change what a directive says, never add one."""
    from dataclasses import replace

    def units(text: str) -> list[str]:
        config = replace(demo_state.config, statsd_host=f"s{text}", memory_max=f"1G{text}", metrics_port=9102)
        files = render_all(replace(demo_state, unit_name=f"u{text}/0", config=config))
        return [files.service_unit, files.check_socket_unit, files.socket_unit("a"), files.metrics_unit]

    for benign, hostile in zip(units("x"), units(HOSTILE), strict=True):
        assert len(hostile.splitlines()) == len(benign.splitlines())
        assert list(directives(hostile)) == list(directives(benign))
        assert all(len(values) == len(directives(benign)[key]) for key, values in directives(hostile).items())


# -- every rendered file, compared whole --------------------------------------------------
# Golden files live in tests/unit/golden/<state>/<file>.golden. After an intended change to a
# template or renderer, regenerate them and review the diff:
#     UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_render.py -k golden
GOLDEN = ROOT / "tests" / "unit" / "golden"


@pytest.fixture
def hostile_state(machine):
    """Relations of every kind and config values that exercise each file's escaping."""
    from charms.layer.wsgi_app.config import parse_config
    from charms.layer.wsgi_app.integrations import Database, HostPort, Integrations, SearchServer

    config = parse_config(
        {
            "app_repo": "https://git.example.org/shop/mysite.git",
            "environment": "QUOTED=say \"hi\" 'there' `id` $HOME ${PATH} \\n\\\\ 100% #not-a-comment\n"
            "UNICODE=héllo wörld ✓ \u202e\u00a0𝄞\n"
            "TRAILING_BACKSLASH=a\\",
            "access_log_format": "%(h)s \"%(r)s\" '%(s)s' %({x-request-id}i)s 100%%",
            "statsd_host": "10.0.0.9:8125",
            "metrics_port": 9102,
            "memory_max": "2G",
            "tasks_max": 512,
            "log_level": "debug",
            "worker_class": "uvicorn",
            "port": 8000,
            "hostnames": "Shop.Example.org, .example.org [FD00::1] 192.0.2.10",
            "scheduled_jobs": "report: 0 12 13 * fri  ./report --at=%H:%M \"$HOME\" 'it''s' a\\b\tc ${X}\n"
            "cron-cleanup: @daily python manage.py clearsessions",
            "scheduled_job_timeout": 600,
        }
    )
    database = Database(
        primary=HostPort("db.example.org", 5432),
        name="shop db",
        user="shop$rw",
        password="p\"a$s`s\\w%o'rd",
        standbys=(HostPort("10.0.0.6", 5433), HostPort("fd00::7", 5432)),
    )
    integrations = Integrations(
        database=database,
        caches=(HostPort("10.0.0.7", 11211), HostPort("fd00::8", 11211)),
        search=(SearchServer(HostPort("10.0.0.10", 9200), cluster_name="es $cluster"),),
        proxies=("10.0.0.2", "fd00::2"),
    )
    return WsgiState(
        app_name="shop",
        unit_name="shop/3",
        config=config,
        machine=replace(machine, addresses=("10.0.0.3", "fd00::3")),
        secret_key='k"e$y`\\%',
        integrations=integrations,
        release_worker_class="uvicorn",
    )


def rendered_files(state) -> dict[str, str]:
    """Every file render_all produces for ``state``, by the name it is installed as."""
    files = render_all(state)
    named = {f"{state.app_name}.socket@{slot}": text for slot, text in files.socket_units.items()}
    named[state.paths.service_template] = files.service_unit
    named[state.paths.check_socket_template] = files.check_socket_unit
    named["gunicorn.conf.py"] = files.gunicorn_conf
    named["settings.env"] = files.settings
    if files.metrics_unit:
        named[state.paths.metrics_service] = files.metrics_unit
    named.update(render_job_units(state, state.config.scheduled_jobs, SERVING))
    return named


def golden_files(directory, files: dict[str, str]) -> dict[str, str]:
    """The golden files in ``directory``, by name; rewritten from ``files`` first under UPDATE_GOLDEN."""
    if os.environ.get("UPDATE_GOLDEN"):
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        for file_name, text in files.items():
            (directory / f"{file_name}.golden").write_text(text, encoding="utf-8")
    return {
        path.name.removesuffix(".golden"): path.read_text(encoding="utf-8") for path in directory.iterdir()
    }


@pytest.mark.parametrize("name", ["demo_state", "hostile_state"])
def test_every_rendered_file_matches_its_golden_file(name, request):
    state = request.getfixturevalue(name)
    files = rendered_files(state)
    directory = GOLDEN / name.removesuffix("_state")
    golden = golden_files(directory, files)
    assert sorted(golden) == sorted(files)
    for file_name, text in files.items():
        assert text == golden[file_name], f"{file_name} differs from {directory / file_name}.golden"


def test_the_exporter_is_installed_with_its_unit_only(demo_state, hostile_state):
    assert render_all(demo_state).metrics_unit == render_all(demo_state).metrics_exporter == ""
    assert render_all(hostile_state).metrics_exporter == (ROOT / "files" / "statsd_exporter.py").read_text()


@pytest.mark.parametrize("name", ["demo_state", "hostile_state"])
def test_systemd_accepts_every_rendered_unit(name, request, tmp_path):
    """``systemd-analyze verify`` on each unit file; skipped (visibly) where it is absent."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    state = request.getfixturevalue(name)
    files = render_all(state)
    units = {
        state.paths.socket: files.socket_unit("a"),
        state.paths.check_socket_template: files.check_socket_unit,
        state.paths.service_template: files.service_unit,
    }
    if files.metrics_unit:
        units[state.paths.metrics_service] = files.metrics_unit
    units.update(render_job_units(state, state.config.scheduled_jobs, SERVING))
    for unit_name, text in units.items():
        (tmp_path / unit_name).write_text(text)
    checked = [state.paths.slot_service("a"), state.paths.socket]  # the slot's instance, from its template
    if files.metrics_unit:
        checked.append(state.paths.metrics_service)
    checked.extend(unit_name for unit_name in units if "-cron-" in unit_name)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(tmp_path / unit_name) for unit_name in checked)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert "Unknown key" not in result.stderr and "Invalid" not in result.stderr, result.stderr


def test_the_secret_key_is_in_the_settings_file_only(demo_state):
    files = rendered_files(demo_state)
    assert [name for name, text in files.items() if SECRET in text] == ["settings.env"]


def test_the_renderers_need_no_charm_library_and_no_hook_tool():
    """render.py is pure: importing and running it loads no charmhelpers/charms.reactive/
    charms.templating (which call hook tools such as config-get)."""
    code = (
        "import sys\n"
        "from charms.layer.wsgi_app import render, config, state\n"
        "s = state.WsgiState(app_name='a', config=config.parse_config({}), machine=state.Machine(1, 1 << 30),"
        " secret_key='k')\n"
        "render.render_all(s)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('charmhelpers', 'charms.reactive',"
        " 'charms.templating'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "lib")},
    )
    assert result.stdout == "[]\n"


# -- the Procfile's process types -----------------------------------------------------------
HOSTILE_COMMAND = "celery -A proj worker --hostname=\"w%h\" -Q '$QUEUE' ${HOME} \\ `id`; echo 100% \\\\"


# the serving release of the process types' and the scheduled jobs' units
SERVING = Release(
    id="20261205093000-1a2b3c4",
    commit="1a2b3c4" + "0" * 33,
    label="shop",
    version="1a2b3c4",
    wsgi_app="mysite.wsgi:application",
    venv="/srv/shop/venvs/abc123",
    spec="spec",
    created=0.0,
    environment=(("DJANGO_SETTINGS_MODULE", "wsgi_app_django_settings"), ("ODD", 'a "b" $c %d')),
    processes=(("web", "gunicorn x"), ("worker", HOSTILE_COMMAND), ("beat", "celery -A proj beat")),
)


@pytest.fixture
def process_release():
    return SERVING


def process_units(state, release, leader=True):
    return render_all(replace(state, leader=leader), release).process_units


def test_process_types_render_one_template_each_and_leader_types_only_on_the_leader(
    hostile_state, process_release
):
    assert sorted(process_units(hostile_state, process_release)) == ["beat", "worker"]
    assert sorted(process_units(hostile_state, process_release, leader=False)) == ["worker"]
    assert render_all(hostile_state).process_units == {}  # no release: no process units


def test_every_process_unit_matches_its_golden_file(hostile_state, process_release):
    files = {
        hostile_state.paths.process_template(name): text
        for name, text in process_units(hostile_state, process_release).items()
    }
    assert files == golden_files(GOLDEN / "processes", files)


def test_a_hostile_command_adds_no_line_to_the_process_unit(hostile_state, process_release):
    def worker(command: str) -> str:
        release = replace(process_release, processes=(("worker", command),))
        return process_units(hostile_state, release)["worker"]

    benign, hostile = worker("celery worker"), worker(HOSTILE_COMMAND + "\nExecStartPre=/bin/evil\r%")
    assert len(hostile.splitlines()) == len(benign.splitlines())
    assert list(directives(hostile)) == list(directives(benign))


def test_the_process_command_reaches_the_shell_as_one_argument(hostile_state, process_release):
    """systemd unquotes ``ExecStart=`` like a POSIX shell once ``%%`` and ``$$`` are undone
    (the unit filter escapes nothing else here): the Procfile's command comes back whole as
    ``bash -c``'s argument, after the release's environment."""
    import shlex

    unit = process_units(hostile_state, process_release)["worker"]
    (exec_start,) = directives(unit)["ExecStart"]
    argv = shlex.split(exec_start.replace("%%", "%").replace("$$", "$"))
    assert argv[0] == "/usr/bin/env" and argv[-3:] == ["/bin/bash", "-c", HOSTILE_COMMAND]
    assert 'ODD=a "b" $c %d' in argv
    assert "PATH=/srv/shop/venvs/abc123/bin:/usr/local/bin:/usr/bin:/bin" in argv


def test_systemd_accepts_the_process_unit(hostile_state, process_release, tmp_path):
    """``systemd-analyze verify`` on an instance of the worker's template; skipped (visibly)
    where it is absent."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    name = hostile_state.paths.process_template("worker")
    (tmp_path / name).write_text(process_units(hostile_state, process_release)["worker"])
    instance = hostile_state.paths.process_service("worker", "1")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / instance)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert "Unknown key" not in result.stderr and "Invalid" not in result.stderr, result.stderr
    assert "Failed to parse" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("systemd", "expected"),
    [
        (0, {"RestartSec": ["10"]}),  # not known: what every systemd reads
        (252, {"RestartSec": ["10"]}),  # Debian 12 (Ubuntu 22.04 has 249)
        (255, {"RestartSec": ["2"], "RestartSteps": ["6"], "RestartMaxDelaySec": ["60"]}),  # Ubuntu 24.04
    ],
)
def test_a_crashing_instance_is_restarted_without_keeping_a_cpu_busy(
    hostile_state, process_release, systemd, expected
):
    """An instance failing at import is restarted for ever (StartLimitIntervalSec=0), so the
    delay between restarts is what bounds the CPU it burns: 10 s, or growing to 60 s where
    systemd can make it grow."""
    state = replace(hostile_state, machine=replace(hostile_state.machine, systemd=systemd))
    found = directives(process_units(state, process_release)["worker"])
    assert found["Restart"] == ["always"] and found["StartLimitIntervalSec"] == ["0"]
    assert {key: found.get(key) for key in expected} == expected
    assert ("RestartSteps" in found) is (systemd >= 254)


@pytest.mark.parametrize(
    ("output", "version"),
    [
        ("systemd 252 (252.39-1~deb12u2)\n+PAM +AUDIT\n", 252),
        ("systemd 255 (255.4-1ubuntu8)\n", 255),
        ("", 0),
        ("something else 3\n", 0),
    ],
)
def test_the_systemd_version_is_read_from_systemctl(monkeypatch, output, version):
    from charms.layer.wsgi_app import state as state_module

    monkeypatch.setattr(
        subprocess, "run", lambda *args, **kwargs: subprocess.CompletedProcess(args, 0, output, "")
    )
    assert state_module.systemd_version() == version


def test_a_stop_signals_the_command_alone_so_pool_children_finish_their_tasks(hostile_state, process_release):
    """Celery's and RQ's pool children reset SIGTERM to its default: signalling the whole
    control group would kill the task in hand; the command, told alone, waits for them."""
    found = directives(process_units(hostile_state, process_release)["worker"])
    assert found["KillMode"] == ["mixed"] and found["KillSignal"] == ["SIGTERM"]
    assert found["TimeoutStopSec"] == [str(hostile_state.config.process_stop_timeout)]
