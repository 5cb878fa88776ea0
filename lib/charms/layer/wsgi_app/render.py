"""Pure renderers: the state in, the text of each managed file out.

Templates live in the charm's ``templates/`` directory and are rendered by a plain Jinja2
environment: no hook tool, no file written (:mod:`.apply` writes them). Every value reaches
a file through the filter that encodes it for that file's format.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import observability, settings_file
from .asgi import WORKER_MODULE_DIR, WSGI_ONLY, gunicorn_pythonpath, gunicorn_worker_class
from .build import app_env
from .environment import app_settings
from .processes import Planned, ProcessPlan, journal_identifier, plan_for
from .releases import Release
from .sandbox import sandbox_directives
from .schedules import Job
from .service import SLOTS
from .state import WsgiState

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).resolve().parents[4] / "templates"
GRACEFUL_TIMEOUT = 30
KEEPALIVE = 5
DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1,::1"
RESTART_STEPS_SYSTEMD = 254  # the first systemd with RestartSteps= and RestartMaxDelaySec=


@dataclass(frozen=True)
class RenderedFiles:
    """The text of every file the charm manages for one state."""

    socket_units: Mapping[str, str]  # per slot: the socket unit naming that slot as its service
    service_unit: str  # the slots' template, <app>@.service
    check_socket_unit: str  # the slots' check sockets' template, <app>-check@.socket
    gunicorn_conf: str
    settings: str
    # per running process type: the text of <app>-<type>@.service
    process_units: Mapping[str, str] = field(default_factory=dict)
    metrics_unit: str = ""  # empty: no exporter (metrics_port 0)
    metrics_exporter: str = ""  # the exporter's code, installed with its unit

    def socket_unit(self, slot: str) -> str:
        return self.socket_units[slot]


def unit_value(value: object, specifiers: bool = True) -> str:
    """A value in a systemd unit file: no character of it can end the line or be read as
    something else. Control characters become ``\\xNN`` escapes, backslashes are
    doubled, and in settings that expand specifiers (most; not ``MemoryMax=`` and the
    like: ``specifiers=False``) ``%`` becomes ``%%``."""
    out = []
    for char in str(value):
        if char == "\\":
            out.append("\\\\")
        elif char == "%" and specifiers:
            out.append("%%")
        elif ord(char) < 32 or ord(char) == 127:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def unit_arg(value: object) -> str:
    """One argument of an ``Exec*=`` line: :func:`unit_value` in double quotes, with
    quotes and ``$`` (environment expansion) escaped, so it stays one argument."""
    return '"' + unit_value(value).replace('"', '\\"').replace("$", "$$") + '"'


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def unit_env(value: object, name: str) -> str:
    """One ``NAME=value`` assignment of an ``Environment=`` line: :func:`unit_value` in
    double quotes with quotes escaped, so spaces stay in it. ``$`` stays as it is:
    ``Environment=`` expands specifiers (``%``, doubled by :func:`unit_value`), not variables."""
    if not _ENV_NAME.fullmatch(name):
        raise ValueError(f"not an environment variable name: {name!r}")
    return '"' + unit_value(f"{name}={value}").replace('"', '\\"') + '"'


@functools.cache
def _environment() -> jinja2.Environment:
    """The Jinja2 environment over ``templates/``, built once per process. No autoescape:
    none of the files is HTML, each value goes through its format's filter instead."""
    import jinja2  # ~15 ms: imported when a file is rendered, which an idle hook never does

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    environment.filters.update(
        {
            "pyrepr": repr,
            "settings_file": settings_file.encode,
            "unit": unit_value,
            "unit_arg": unit_arg,
            "unit_env": unit_env,
        }
    )
    return environment


def _render(template: str, context: Mapping[str, Any]) -> str:
    return str(_environment().get_template(template).render(**context))


@functools.cache
def settings_reader_code() -> str:
    """The source of :mod:`.settings_file`, which gunicorn.conf.py holds to read the settings."""
    return Path(settings_file.__file__).read_text(encoding="utf-8")


def _common(state: WsgiState) -> dict[str, Any]:
    paths = state.paths
    return {
        "name": state.app_name,
        "user": paths.user,
        "service_template": paths.service_template,
        "socket": paths.socket,
        "slots_dir": str(paths.slots),
        "current": str(paths.current),
        "settings_file": str(paths.settings_file),
        "gunicorn_conf": str(paths.gunicorn_conf),
        "identifier": observability.syslog_identifier(state),
        "statsd": observability.statsd(state).target,
    }


def render_socket_unit(state: WsgiState, slot: str) -> str:
    """The listening socket, handing connections that arrive while nothing runs to ``slot``."""
    context = {**_common(state), "port": state.config.port, "serving_unit": state.paths.slot_service(slot)}
    return _render("gunicorn.socket.j2", context)


def render_check_socket_unit(state: WsgiState) -> str:
    context = {
        **_common(state),
        "check_socket_template": state.paths.check_socket_template,
        "check_dir": str(state.paths.check_dir),
    }
    return _render("gunicorn-check.socket.j2", context)


def render_service_unit(state: WsgiState) -> str:
    context = {
        **_common(state),
        "check_socket_template_prefix": state.paths.check_socket_template.removesuffix(".socket"),
        "stop_timeout": GRACEFUL_TIMEOUT + 10,
        "memory_max": state.config.memory_max,
        "tasks_max": state.config.tasks_max,
        "sandbox": sandbox_directives(state.paths),
    }
    return _render("gunicorn.service.j2", context)


def _release_run(state: WsgiState, release: Release) -> dict[str, Any]:
    """Where a command of ``release`` other than gunicorn (a process type, a scheduled job)
    runs, and what it gets over the settings file: the environment the release command gets
    (:func:`.build.app_env`: the release's own settings, such as a Django settings overlay,
    its virtualenv's ``bin`` first on ``PATH``, the charm's modules on ``PYTHONPATH``).
    The templates set the latter with ``env`` on the command line, because systemd would let
    the settings file override an ``Environment=`` line."""
    release_dir = state.paths.releases / release.id
    overlay = app_env(release, release_dir / "app", {})
    return {"release_dir": str(release_dir), "overlay": [f"{key}={value}" for key, value in overlay.items()]}


def render_process_unit(state: WsgiState, release: Release, process: Planned) -> str:
    """The template unit running ``process`` of ``release`` (see :mod:`.processes`): the
    repository's command, as the application user, through ``/bin/bash -c`` (as Heroku
    does), where and with what :func:`_release_run` says."""
    context = {
        **_common(state),
        **_release_run(state, release),
        "unit_file": state.paths.process_template(process.name),
        "process": process.name,
        "command": process.command,
        "stop_timeout": state.config.process_stop_timeout,
        "restart_backoff": state.machine.systemd >= RESTART_STEPS_SYSTEMD,
        "identifier": journal_identifier(state.app_name, process.name),
        "memory_max": state.config.memory_max,
        "tasks_max": state.config.tasks_max,
        "sandbox": sandbox_directives(state.paths),
    }
    return _render("process.service.j2", context)


def render_process_units(state: WsgiState, release: Release, plan: ProcessPlan) -> dict[str, str]:
    """The unit of every process type ``plan`` runs here, by type."""
    return {process.name: render_process_unit(state, release, process) for process in plan.running}


def render_job_units(state: WsgiState, jobs: tuple[Job, ...], release: Release | None) -> dict[str, str]:
    """Each scheduled job's oneshot service and timer, by unit file name (see :mod:`.schedules`),
    running in the serving ``release`` as the process types do (:func:`_release_run`); none
    without a release."""
    if release is None:
        return {}
    paths = state.paths
    files: dict[str, str] = {}
    for job in jobs:
        service, timer = paths.job_service(job.key), paths.job_timer(job.key)
        context = {
            **_common(state),
            **_release_run(state, release),
            "unit_file": service,
            "timer": timer,
            "job_name": job.name,
            "expression": job.expression,
            "on_calendar": job.on_calendar,
            "command": job.command,
            "timeout": state.config.scheduled_job_timeout,
            "identifier": journal_identifier(state.app_name, job.log_name),
            "memory_max": state.config.memory_max,
            "tasks_max": state.config.tasks_max,
            "sandbox": sandbox_directives(paths),
        }
        files[service] = _render("cron.service.j2", context)
        files[timer] = _render("cron.timer.j2", context)
    return files


def gunicorn_trusted_proxies(proxies: tuple[str, ...]) -> str:
    """gunicorn's ``forwarded_allow_ips`` for ``proxies`` (default: this machine).

    gunicorn listens on a dual-stack socket, where an IPv4 peer shows as ``::ffff:a.b.c.d``
    and gunicorn compares addresses as text: each IPv4 address is listed in both forms.
    """
    addresses = proxies or tuple(DEFAULT_FORWARDED_ALLOW_IPS.split(","))
    listed: list[str] = []
    for address in addresses:
        listed.append(address)
        if "." in address and ":" not in address:
            listed.append(f"::ffff:{address}")
    return ",".join(listed)


def render_gunicorn_conf(state: WsgiState) -> str:
    config = state.config
    context = {
        **_common(state),
        "workers": state.workers,
        "worker_class": gunicorn_worker_class(state.worker_class),
        "pythonpath": gunicorn_pythonpath(state.worker_class),
        "charm_modules": WORKER_MODULE_DIR,
        "threads": state.threads,
        "worker_connections": state.worker_connections,
        "timeout": config.timeout,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        "keepalive": KEEPALIVE,
        "max_requests": config.max_requests,
        "max_requests_jitter": config.max_requests_jitter,
        "runtime_dir": f"/run/{state.app_name}",
        "forwarded_allow_ips": gunicorn_trusted_proxies(state.integrations.proxies),
        "log_level": config.log_level,
        "access_log_format": config.access_log_format,
        "statsd_prefix": observability.statsd(state).prefix,
        "settings_reader": settings_reader_code(),
        "maintenance_file": str(state.paths.maintenance_page),
        "health_check_path": config.health_check_path,
        "asgi": state.worker_class not in WSGI_ONLY,
    }
    return _render("gunicorn.conf.py.j2", context)


def render_settings(state: WsgiState) -> str:
    context = {**_common(state), "settings": app_settings(state)}
    return _render("settings.env.j2", context)


def render_metrics_unit(state: WsgiState) -> str:
    """The exporter's systemd unit, or "" when ``metrics_port`` is 0."""
    statsd = observability.statsd(state)
    if not statsd.exporter_port:
        return ""
    context = {
        **_common(state),
        "unit_file": state.paths.metrics_service,
        "port": statsd.exporter_port,
        "prefix": statsd.prefix,
        "unit": state.unit_name or state.app_name,
        "forward": statsd.forward_to,
        "exporter": observability.EXPORTER_PATH,
    }
    return _render("metrics.service.j2", context)


def charm_module_code(name: str) -> str:
    """One of the charm's modules the application's processes import, shipped in its
    ``files/``: the uvicorn worker (:data:`~.asgi.WORKER_MODULE`), the static files
    wrapper, the Django settings overlay (:data:`~.django.OVERLAY_FILE`)."""
    return (TEMPLATES.parent / "files" / name).read_text()


def exporter_code() -> str:
    """The exporter script shipped in the charm's ``files/``."""
    return (TEMPLATES.parent / "files" / "statsd_exporter.py").read_text()


def render_all(state: WsgiState, release: Release | None = None) -> RenderedFiles:
    """Every file for ``state``; the process types' units too when the ``release`` they
    run is given."""
    metrics_unit = render_metrics_unit(state)
    processes = render_process_units(state, release, plan_for(state, release.processes)) if release else {}
    return RenderedFiles(
        socket_units={slot: render_socket_unit(state, slot) for slot in SLOTS},
        service_unit=render_service_unit(state),
        check_socket_unit=render_check_socket_unit(state),
        gunicorn_conf=render_gunicorn_conf(state),
        settings=render_settings(state),
        process_units=processes,
        metrics_unit=metrics_unit,
        metrics_exporter=exporter_code() if metrics_unit else "",
    )
