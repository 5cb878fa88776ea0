"""Bring the unit to the desired :class:`~.state.WsgiState`: build a release when the
source changed, put the rendered files in place, reload or restart, check health and
roll back a release that does not answer.

This is the charm's one apply step; the reactive handlers call :func:`reconcile` and
:func:`rollback` and only turn their :class:`Outcome` into a status. Everything that
fails here for a reason the operator can fix raises :class:`DeployError`, whose text
is a status message; the serving release is never touched before the new one is known
to import.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import (
    apply,
    asgi,
    entrypoint,
    git_ssh,
    health,
    metrics,
    ownership,
    python_env,
    releases,
    source,
    system,
)
from .apply import Action, Applied
from .commands import CommandFailed, RunAs
from .config import AppConfig
from .confined import Sandbox
from .environment import app_settings
from .logs import redact_text, secret_values
from .paths import Paths
from .releases import Release
from .render import render_all, uvicorn_worker_code
from .state import WsgiState
from .writes import write_if_changed

Report = Callable[[str], None]
Publish = Callable[[str], None]  # the leader shares the commit it resolved (leader settings)
# imports the entry point and says, on its last line, whether the callable is an ASGI
# application (a coroutine function, or an object whose __call__ is one) or a WSGI one
IMPORT_CHECK = (
    "import importlib, inspect, sys\n"
    "module, _, name = sys.argv[1].partition(':')\n"
    "target = vars(importlib.import_module(module))\n"
    "app = eval(name or 'application', target)\n"
    "assert callable(app), sys.argv[1] + ' is not callable'\n"
    "asgi = inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(getattr(app, '__call__', None))\n"
    f"print({asgi.REPORT_PREFIX!r} + ('ASGI' if asgi else 'WSGI'))\n"
)
IMPORT_CHECK_TIMEOUT = 120


class DeployError(RuntimeError):
    """A deploy step failed for a reason the operator can fix; ``str()`` is the status."""


class RetryableError(DeployError):
    """A failure that may pass by itself; update-status tries again."""


class FetchError(RetryableError):
    """The repository could not be reached."""


class MachineFault(RetryableError):
    """The machine could not hold the new release (disk full, I/O error)."""


class NameTaken(DeployError):
    """The application's name is a user, directory or unit of the machine's own."""


class WaitingForLeader(RetryableError):
    """The new release needs release_command, which only the leader runs: this unit
    switches once the leader has published the release as done (leader settings)."""


def waits_for_leader(release_command: str, leader: bool, released: str, spec: str) -> bool:
    """Whether a unit must not switch to release ``spec`` yet: another unit (the leader)
    runs ``release_command`` for it, and has not said it ran it (``released``)."""
    return bool(release_command) and not leader and released != spec


@dataclass(frozen=True)
class Outcome:
    """What :func:`reconcile` did."""

    release: Release | None  # what serves now
    action: Action
    deployed: bool = False  # a new release went live
    problem: str = ""  # set when the unit should be blocked


def source_inputs(state: WsgiState, demo_revision: str) -> dict[str, Any]:
    """The config that decides what a release contains (its code, venv and entry point)."""
    config = state.config
    return {
        "app_repo": config.app_repo,
        "app_ref": config.app_ref,
        # a new key or host key is worth a new fetch; only a digest is kept
        "ssh": hashlib.sha256((config.deploy_key + config.known_hosts).encode()).hexdigest()[:16]
        if config.deploy_key or config.known_hosts
        else "",
        "wsgi_app": config.wsgi_app,
        "python_packages": list(config.python_packages),
        "apt_packages": list(config.apt_packages),
        "release_command": config.release_command,
        "worker_class": config.worker_class,
        "demo": demo_revision if not config.app_repo else "",
    }


def source_id(state: WsgiState) -> str:
    """Which repository and ref a published commit belongs to."""
    config = state.config
    return hashlib.sha256(f"{config.app_repo}\n{config.app_ref}".encode()).hexdigest()[:16]


def agreed_revision(
    state: WsgiState, fetched: source.Revision, publish: Publish | None, resolve: Callable[[str], str]
) -> source.Revision:
    """The commit every unit deploys: the one the leader (``publish`` given) resolved
    ``app_ref`` to and published; a follower deploys it, not what its own fetch resolved,
    so a branch that moves between two units' fetches never splits the application."""
    agreed = f"{source_id(state)}:{fetched.commit}"
    if publish is not None:
        if state.agreed_source != agreed:
            publish(agreed)
        return fetched
    published_for, _, commit = state.agreed_source.partition(":")
    if published_for != source_id(state) or not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit):
        what = state.config.app_ref or "the default branch"
        raise WaitingForLeader(f"waiting for the leader to resolve {what} of {fetched.label}")
    if commit == fetched.commit:
        return fetched
    try:
        return replace(fetched, commit=resolve(commit))
    except source.SourceError:
        raise FetchError(
            f"app_repo: commit {commit[:7]}, which the leader deploys, is not in the repository"
        ) from None


def release_spec(inputs: dict[str, Any], commit: str) -> str:
    blob = json.dumps({**inputs, "commit": commit}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def run_as(state: WsgiState) -> RunAs:
    return RunAs(user=state.paths.user, home=state.paths.root)


def sandbox(state: WsgiState) -> Sandbox:
    """Where the application's code runs at build time: confined like the service."""
    config = state.config
    return Sandbox(state.paths, run_as(state), config.memory_max, config.tasks_max)


def prepare(paths: Paths) -> None:
    """Packages, user and directories the application needs, and the charm's uvicorn
    worker module (idempotent); raises :class:`NameTaken` before touching anything when
    the name is the machine's own."""
    taken = system.name_taken(paths)
    if taken:
        raise NameTaken(
            f"the application name {paths.name!r} is taken on this machine ({taken}): "
            "deploy the charm under another name"
        )
    system.install_packages(system.BASE_PACKAGES)
    system.ensure_user(paths)
    system.ensure_directories(paths)
    worker_module = Path(asgi.WORKER_MODULE_DIR) / asgi.WORKER_MODULE
    worker_module.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(worker_module, uvicorn_worker_code(), 0o644)


def reconcile(
    state: WsgiState, *, demo_dir: Path, publish: Publish | None, build: bool, report: Report
) -> Outcome:
    """Make the unit serve ``state``; ``build`` asks for the source to be fetched again.
    ``publish`` is given on the leader only (see :func:`agreed_revision`)."""
    try:
        return _reconcile(state, demo_dir=demo_dir, publish=publish, build=build, report=report)
    except ownership.TreeError as error:  # the tree is not what the charm made: never retried
        raise DeployError(str(error)) from None


def _reconcile(
    state: WsgiState, *, demo_dir: Path, publish: Publish | None, build: bool, report: Report
) -> Outcome:
    paths = state.paths
    prepare(paths)
    serving = releases.current(paths)
    new_release: Release | None = None
    if build or serving is None:
        new_release = build_release(state, demo_dir=demo_dir, publish=publish, report=report, serving=serving)
    live = new_release or serving
    assert live is not None
    applied = converge(state, live)
    if new_release is not None and applied.kept_previous and serving is not None:
        report(f"release {new_release.version} unhealthy; {serving.version} kept serving")
        converge(state, serving)  # gunicorn.conf.py names the serving release's worker class again
        releases.remove(paths, new_release.id)
        return Outcome(
            release=serving,
            action=applied.action,
            problem=f"release {new_release.version} failed health check ({applied.detail}); "
            f"rolled back to {serving.version}",
        )
    if new_release is not None:
        releases.switch(paths, new_release.id)
    if not applied.healthy:
        return Outcome(release=live, action=applied.action, problem=f"health check failed: {applied.detail}")
    if new_release is not None:
        releases.prune(paths, state.config.keep_releases)
        _prune_venvs(state)
    return Outcome(release=live, action=applied.action, deployed=new_release is not None)


def build_release(
    state: WsgiState, *, demo_dir: Path, publish: Publish | None, report: Report, serving: Release | None
) -> Release | None:
    """Fetch, install and check a new release; ``None`` when the serving one is still right."""
    paths, config, account = state.paths, state.config, run_as(state)
    leader = publish is not None
    demo = source.demo_revision(demo_dir)
    if config.app_repo:
        report(f"fetching {source.repo_label(config.app_repo)}")
        try:
            ssh_env = git_ssh.git_ssh_environment(config, paths)
            revision = source.fetch(config.app_repo, config.app_ref, paths.mirror, account, env=ssh_env)
        except source.SourceError as error:
            raise FetchError(str(error)) from None
        except CommandFailed as error:  # installing the ssh client
            raise FetchError(f"app_repo: cannot install the ssh client: {error.reason()}") from None
        revision = agreed_revision(
            state, revision, publish, lambda commit: source.resolve_commit(paths.mirror, account, commit)
        )
    else:
        revision = demo
    inputs = source_inputs(state, demo.commit)
    spec = release_spec(inputs, revision.commit)
    if serving is not None and serving.spec == spec:
        return None
    if waits_for_leader(config.release_command, leader, state.released, spec):
        raise WaitingForLeader(f"waiting for the leader to run release_command for {revision.short}")
    release_id = releases.new_id(revision.commit)
    directory = paths.releases / release_id
    if directory.exists():
        releases.remove(paths, release_id)
    try:
        return _assemble(state, revision, release_id, spec, directory, leader, report, demo_dir)
    except OSError as error:  # ENOSPC, EIO...: the new release is dropped, the old one serves
        releases.remove(paths, release_id)
        raise MachineFault(f"cannot build release {revision.short}: {error.strerror or error}") from None
    except BaseException:
        releases.remove(paths, release_id)
        raise


def _assemble(
    state: WsgiState,
    revision: source.Revision,
    release_id: str,
    spec: str,
    directory: Path,
    leader: bool,
    report: Report,
    demo_dir: Path,
) -> Release:
    paths, config, account = state.paths, state.config, run_as(state)
    app_dir = directory / "app"
    ownership.ensure_dir(directory, 0, account.ids[1], ownership.ROOT_MODE)
    try:
        source.export(revision, paths.mirror, app_dir, account, demo_dir=demo_dir)
    except source.SourceError as error:  # what the repository holds: fixed by a new commit
        raise DeployError(f"{revision.label} ({revision.short}): {error}") from None
    if config.apt_packages:
        report("installing apt packages")
        try:
            system.install_packages(config.apt_packages)
        except CommandFailed as error:
            raise DeployError(f"apt_packages: {error.tail(1)}") from None
    try:
        wsgi_app = config.wsgi_app or entrypoint.detect(app_dir)
    except entrypoint.EntryPointError as error:
        raise DeployError(str(error)) from None
    looks_asgi = asgi.looks_asgi(app_dir, wsgi_app, entrypoint.procfile_web_command(app_dir))
    worker_class = asgi.choose(config.worker_class, looks_asgi)
    report(f"installing requirements of {revision.label} ({revision.short})")
    release = Release(
        id=release_id,
        commit=revision.commit,
        label=revision.label,
        version=revision.short,
        wsgi_app=wsgi_app,
        venv=str(install(state, app_dir, release_id, worker_class)),
        spec=spec,
        created=time.time(),
        worker_class=worker_class,
    )
    settings = app_settings(state)
    release = checked_release(state, release, directory, settings)
    if config.release_command and leader:
        report(f"running release_command for {revision.short}")
        run_release_command(config, release, app_dir, settings, sandbox(state))
    return release


def app_env(release: Release, app_dir: Path, settings: dict[str, str]) -> dict[str, str]:
    """The environment the application's own processes get (settings stay out of argv)."""
    venv_bin = Path(release.venv) / "bin"
    return {
        **settings,
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "VIRTUAL_ENV": release.venv,
        "PYTHONPATH": str(app_dir),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def install(state: WsgiState, app_dir: Path, release_id: str, worker_class: str) -> Path:
    """The venv of the app in ``app_dir`` with the packages ``worker_class`` needs."""
    config, paths = state.config, state.paths
    venv_plan = python_env.plan(app_dir, release_id, config.python_packages, worker_class)
    try:
        workspace = paths.builds / release_id
        return python_env.ensure(venv_plan, paths.venvs, sandbox(state), app_dir, workspace)
    except python_env.VenvError as error:
        raise DeployError(str(error)) from None


def checked_release(state: WsgiState, release: Release, directory: Path, settings: dict[str, str]) -> Release:
    """``release``, written and its entry point imported, with the worker class the imported
    callable needs: when that is not the one the source suggested, the venv is built again
    for it and the import checked once more."""
    app_dir, confined = directory / "app", sandbox(state)
    releases.write(directory, release)
    speaks_asgi = check_import(release, app_dir, settings, confined)
    worker_class = asgi.choose(state.config.worker_class, speaks_asgi)
    try:
        asgi.refuse_mismatch(worker_class, speaks_asgi, release.wsgi_app)
    except asgi.WorkerClassError as error:
        raise DeployError(str(error)) from None
    if worker_class == release.worker_class:
        return release
    venv = install(state, app_dir, release.id, worker_class)
    release = replace(release, venv=str(venv), worker_class=worker_class)
    releases.write(directory, release)
    check_import(release, app_dir, settings, confined)
    return release


def check_import(release: Release, app_dir: Path, settings: dict[str, str], confined: Sandbox) -> bool:
    """Import the entry point in the new venv, as the app user and confined, before
    anything switches; whether it is an ASGI application."""
    python = str(Path(release.venv) / "bin" / "python")
    try:
        output = confined.run(
            "import check",
            [python, "-c", IMPORT_CHECK, release.wsgi_app],
            cwd=app_dir,
            writable=(confined.paths.data,),
            env=app_env(release, app_dir, settings),
            timeout=IMPORT_CHECK_TIMEOUT,
        )
    except CommandFailed as error:
        raise DeployError(f"{release.wsgi_app} does not import: {shown(error.tail(1), settings)}") from None
    return asgi.reported_asgi(output)


def shown(output: str, settings: dict[str, str]) -> str:
    """App output fit for a status line and the log: the app's secrets (a migration that
    prints its DATABASE_URL...) redacted."""
    return redact_text(output, secret_values(settings))


def run_release_command(
    config: AppConfig, release: Release, app_dir: Path, settings: dict[str, str], confined: Sandbox
) -> None:
    """``release_command`` (migrations...), confined like the service: when it ends or
    times out, nothing it started is left running."""
    try:
        confined.run(
            "release_command",
            ["/bin/sh", "-c", config.release_command],
            cwd=app_dir,
            writable=(confined.paths.data,),
            env=app_env(release, app_dir, settings),
            timeout=config.release_command_timeout,
        )
    except CommandFailed as error:
        # "release_command failed (exit 3): ..." or "release_command timed out after 600s: ..."
        raise DeployError(f"{error.what}: {shown(error.tail(3), settings)}") from None


def converge(state: WsgiState, live: Release) -> Applied:
    """Write the rendered files and bring gunicorn to ``live`` with as little as the changes
    require (see :mod:`.apply`); the exporter follows."""
    paths, config = state.paths, state.config
    files = render_all(replace(state, release_worker_class=live.worker_class))
    applied = apply.converge(
        paths,
        files,
        apply.target_of(files, live.id, config.port),
        lambda check_socket: health.wait_healthy(check_socket, config.health_check_path),
    )
    metrics.apply_exporter(paths.metrics_service_file, files.metrics_unit, files.metrics_exporter)
    return applied


def rollback(state: WsgiState, report: Report) -> Outcome:
    """Serve the previous release again (the ``rollback`` action)."""
    paths = state.paths
    try:
        serving, target = releases.current(paths), releases.previous(paths)
    except ownership.TreeError as error:
        raise DeployError(str(error)) from None
    if target is None or serving is None:
        raise DeployError("no previous release to roll back to")
    report(f"rolling back from {serving.version} to {target.version}")
    applied = converge(state, target)
    if not applied.healthy:
        if not applied.kept_previous:  # nothing else could serve: stay on the target
            releases.switch(paths, target.id)
        else:
            converge(state, serving)  # gunicorn.conf.py for the release that still serves
        raise DeployError(f"release {target.version} is unhealthy ({applied.detail}); kept {serving.version}")
    releases.switch(paths, target.id)
    releases.remove(paths, serving.id)
    return Outcome(release=target, action=applied.action, deployed=True)


def _prune_venvs(state: WsgiState) -> None:
    """Remove the venvs no release uses, and build copies an interrupted hook left."""
    kept = {Path(r.venv) for r in releases.all_releases(state.paths)}
    python_env.prune(state.paths.venvs, kept)
    for leftover in state.paths.builds.iterdir():
        ownership.remove(leftover)
