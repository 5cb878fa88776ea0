"""Building a release: fetch the source (the commit every unit agrees on), export it,
read its Procfile, install its venv, import its entry point confined, and run the release
command (``release_command``, the Procfile's ``release:`` or Django's migrations) on the
leader. Nothing here touches the serving release or the service; every failure the
operator can fix raises :class:`~.errors.DeployError`, whose text is a status message.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import (
    asgi,
    django,
    entrypoint,
    git_ssh,
    ownership,
    procfile,
    python_env,
    releases,
    rollout,
    schedules,
    source,
    static_files,
    system,
)
from .commands import CommandFailed, RunAs
from .config import AppConfig
from .confined import Sandbox
from .environment import app_settings
from .errors import DeployError, FetchError, MachineFault, WaitingForLeader, WaitingForRollout
from .logs import redact_text, secret_values
from .processes import is_process_type
from .releases import Release
from .state import WsgiState

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


def waits_for_leader(release_command: str, leader: bool, released: str, spec: str) -> bool:
    """Whether a unit must not switch to release ``spec`` yet: another unit (the leader)
    runs ``release_command`` for it, and has not said it ran it (``released``)."""
    return bool(release_command) and not leader and released != spec


def rollout_turn(state: WsgiState, spec: str, version: str, serving: Release, leader: bool = False) -> str:
    """Why this unit (``serving`` a release) may not switch to release ``spec`` yet with
    ``rollout=rolling`` (see :func:`.rollout.turn`); "" when it may. The leader goes first,
    unless ``spec`` was released already (by the unit that led before it, or by itself
    before a rollback): then it waits for its turn like any unit."""
    if state.config.rollout != rollout.ROLLING or (leader and state.released != spec):
        return ""
    return rollout.turn(spec, version, state.released, state.unit_name, serving.spec, state.peers)


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
        # only when set: the releases of charms before static_paths keep their spec
        **({"static_paths": [list(mount) for mount in config.static_paths]} if config.static_paths else {}),
        # only when not the defaults: the releases of charms before them keep their spec
        **_django_inputs(config),
        # only when set: a release spec made before the option existed stays the same
        **({"procfile": list(config.procfile.table())} if config.procfile is not None else {}),
    }


def _django_inputs(config: AppConfig) -> dict[str, Any]:
    """What decides a Django project's settings module, overlay and collected files."""
    inputs = {
        "django_settings": config.environment.get("DJANGO_SETTINGS_MODULE", ""),
        "django_production_settings": config.django_production_settings,
        "django_collectstatic": config.django_collectstatic,
    }
    defaults = {"django_settings": "", "django_production_settings": True, "django_collectstatic": True}
    return {} if inputs == defaults else inputs


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
    commit = published_commit(state)
    if not commit:
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


def published_commit(state: WsgiState) -> str:
    """The commit the leader published for this repository and ref; "" when none."""
    published_for, _, commit = state.agreed_source.partition(":")
    if published_for != source_id(state) or not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", commit):
        return ""
    return commit


def hold_before_fetch(
    state: WsgiState, inputs: dict[str, Any], serving: Release | None, leader: bool
) -> None:
    """A follower whose turn in a rolling release has not come waits without fetching: the
    release it would build is the leader's published commit with this config, so its
    repository is not fetched again at every hook (update-status included) while it waits.
    Raises :class:`WaitingForRollout`."""
    commit = published_commit(state)
    if serving is None or leader or not commit or state.config.rollout != rollout.ROLLING:
        return
    spec = release_spec(inputs, commit)
    waits = rollout_turn(state, spec, commit[:7], serving) if spec != serving.spec else ""
    if waits:
        raise WaitingForRollout(waits)


def release_spec(inputs: dict[str, Any], commit: str) -> str:
    blob = json.dumps({**inputs, "commit": commit}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def run_as(state: WsgiState) -> RunAs:
    return RunAs(user=state.paths.user, home=state.paths.root)


def sandbox(state: WsgiState) -> Sandbox:
    """Where the application's code runs at build time: confined like the service."""
    return Sandbox.for_state(state)


def build_release(
    state: WsgiState, *, demo_dir: Path, publish: Publish | None, report: Report, serving: Release | None
) -> Release | None:
    """Fetch, install and check a new release; ``None`` when the serving one is still right."""
    paths, config, account = state.paths, state.config, run_as(state)
    leader = publish is not None
    demo = source.demo_revision(demo_dir)
    inputs = source_inputs(state, demo.commit)
    if config.app_repo:
        hold_before_fetch(state, inputs, serving, leader)
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
    spec = release_spec(inputs, revision.commit)
    if serving is not None and serving.spec == spec:
        return None
    if serving is not None:
        waits = rollout_turn(state, spec, revision.short, serving, leader)
        if waits:
            raise WaitingForRollout(waits)
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
        processes = procfile.load(app_dir, config.procfile)
        schedules.jobs_of(schedules.from_procfile(processes), config.scheduled_jobs)  # its cron* entries
    except (
        source.SourceError,
        procfile.ProcfileError,
        schedules.ScheduleError,
    ) as error:  # fixed by a new commit
        raise DeployError(f"{revision.label} ({revision.short}): {error}") from None
    taken = system.foreign_units(
        paths, [paths.process_template(name) for name, _ in processes.table() if is_process_type(name)]
    )
    if taken:
        raise DeployError(
            f"{revision.label} ({revision.short}): a Procfile process type would replace the "
            f"machine's systemd unit {taken[0]} (the system's or another application's): rename it"
        )
    try:
        wsgi_app = config.wsgi_app or entrypoint.detect(app_dir, processes.web)
    except entrypoint.EntryPointError as error:
        raise DeployError(str(error)) from None
    project = django_project(state, app_dir, wsgi_app, report)
    # known only now that the source is out: whether a follower waits for the leader
    command = procfile.release_command(config.release_command, processes, project is not None)
    if waits_for_leader(command, leader, state.released, spec):
        raise WaitingForLeader(f"waiting for the leader to run release_command for {revision.short}")
    if config.apt_packages:
        report("installing apt packages")
        try:
            system.install_packages(config.apt_packages)
        except CommandFailed as error:
            raise DeployError(f"apt_packages: {error.tail(1)}") from None
    looks_asgi = asgi.looks_asgi(app_dir, wsgi_app, processes.web)
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
        environment=tuple(
            django.release_environment(project, directory, config.django_production_settings).items()
        ),
        release_command=command,
        processes=processes.table(),
    )
    settings = app_settings(state)
    release = checked_release(state, release, directory, settings)
    if project is not None and config.django_collectstatic:
        report(f"collecting the static files of {revision.label} ({revision.short})")
        release = collected_release(state, release, directory, project, settings, report)
    if config.static_paths:
        report(f"compressing static files of {revision.short}")
        release = static_files.build_mounts(state, release, directory)
    if release.release_command and leader:
        report(f"running release_command for {revision.short}")
        run_release_command(config, release, app_dir, settings, sandbox(state))
    return release


def app_env(release: Release, app_dir: Path, settings: dict[str, str]) -> dict[str, str]:
    """The environment the application's own processes get (settings stay out of argv):
    its settings with the release's over them, the charm's modules after its code."""
    venv_bin = Path(release.venv) / "bin"
    return {
        **settings,
        **dict(release.environment),
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "VIRTUAL_ENV": release.venv,
        "PYTHONPATH": f"{app_dir}:{asgi.WORKER_MODULE_DIR}",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def django_project(state: WsgiState, app_dir: Path, wsgi_app: str, report: Report) -> django.Project | None:
    """The Django project in ``app_dir``, if it is one; says so when it forces its own
    settings module, which the charm's production settings then cannot complete."""
    configured = state.config.environment.get("DJANGO_SETTINGS_MODULE", "")
    project = django.find_project(app_dir, asgi.module_file(app_dir, wsgi_app), configured)
    if project is not None and project.forces_settings and state.config.django_production_settings:
        report(
            f"{project.settings_module}: manage.py or the entry point sets DJANGO_SETTINGS_MODULE "
            "itself (os.environ[...] =), so the charm's production settings are not applied; "
            "use os.environ.setdefault"
        )
    return project


def collected_release(
    state: WsgiState,
    release: Release,
    directory: Path,
    project: django.Project,
    settings: dict[str, str],
    report: Report,
) -> Release:
    """``release`` with its Django static files collected (:func:`.django.collect_static`)
    and the mount serving them; raises :class:`DeployError` with the app's output redacted."""
    app_dir = directory / "app"
    env = {"DJANGO_SETTINGS_MODULE": project.settings_module, **app_env(release, app_dir, settings)}
    python = str(Path(release.venv) / "bin" / "python")
    try:
        found = django.collect_static(sandbox(state), python, app_dir, directory, env)
    except CommandFailed as error:
        raise DeployError(f"{error.what}: {shown(error.tail(3), settings)}") from None
    except django.DjangoError as error:
        raise DeployError(str(error)) from None
    if found is None:
        return release
    if release.worker_class not in asgi.WSGI_ONLY:  # WhiteNoise wraps WSGI callables only
        report(f"{release.wsgi_app} is an ASGI application: its static files are collected, not served")
        return release
    prefix, root = found
    return static_files.add_mount(state, release, directory, prefix, Path(root))


def install(state: WsgiState, app_dir: Path, release_id: str, worker_class: str) -> Path:
    """The venv of the app in ``app_dir`` with the packages ``worker_class`` needs, and
    those serving static files when the release will have some (see :mod:`.static_files`)."""
    config, paths = state.config, state.paths
    try:
        static = static_files.wanted(state, app_dir)
        venv_plan = python_env.plan(app_dir, release_id, config.python_packages, worker_class, static=static)
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
    """The release's command (migrations...), confined like the service: when it ends or
    times out, nothing it started is left running."""
    try:
        confined.run(
            "release_command",
            ["/bin/sh", "-c", release.release_command],
            cwd=app_dir,
            writable=(confined.paths.data,),
            env=app_env(release, app_dir, settings),
            timeout=config.release_command_timeout,
        )
    except CommandFailed as error:
        # "release_command failed (exit 3): ..." or "release_command timed out after 600s: ..."
        raise DeployError(f"{error.what}: {shown(error.tail(3), settings)}") from None
