"""Put a release live: build one when the source changed (:mod:`.build`), render the
files and bring gunicorn to them (:mod:`.apply`, :mod:`.service`, :mod:`.metrics`), and
switch ``current`` only once the new release answers its health check; roll back to the
previous release on request. The serving release is never touched before the new one is
known to import; what fails for a reason the operator can fix raises
:class:`~.errors.DeployError`, whose text is a status message.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from charmhelpers.core import hookenv

from . import (
    apply,
    asgi,
    django,
    health,
    maintenance,
    metrics,
    ownership,
    processes,
    python_env,
    releases,
    static_files,
    system,
)
from .apply import Action, Applied
from .build import Publish, Report, build_release
from .commands import CommandFailed
from .errors import DeployError, NameTaken, ReleaseUnhealthy, WaitingForRollout
from .paths import Paths
from .process_units import ProcessUnits
from .releases import Release
from .render import RenderedFiles, charm_module_code, render_all
from .state import WsgiState
from .writes import write_if_changed


@dataclass(frozen=True)
class Outcome:
    """What :func:`serve` or :func:`rollback` did."""

    release: Release | None  # what serves now
    action: Action
    deployed: bool = False  # a new release went live
    problem: str = ""  # set when the release live does not answer its health check


def prepare(paths: Paths) -> None:
    """Packages, user and directories the application needs, and the charm's modules its
    processes import: the uvicorn worker, the static files and maintenance wrappers and the
    Django settings overlay (idempotent);
    raises :class:`NameTaken` before touching anything when the name is the machine's own."""
    taken = system.name_taken(paths)
    if taken:
        raise NameTaken(
            f"the application name {paths.name!r} is taken on this machine ({taken}): "
            "deploy the charm under another name"
        )
    system.install_packages(system.BASE_PACKAGES)
    system.ensure_user(paths)
    system.ensure_directories(paths)
    modules = Path(asgi.WORKER_MODULE_DIR)
    modules.mkdir(parents=True, exist_ok=True)
    for name in (
        asgi.WORKER_MODULE,
        static_files.WRAPPER_MODULE,
        django.OVERLAY_FILE,
        maintenance.WRAPPER_MODULE,
    ):
        write_if_changed(modules / name, charm_module_code(name), 0o644)


def serve(
    state: WsgiState, *, demo_dir: Path, publish: Publish | None, build: bool, report: Report
) -> Outcome:
    """Make the unit serve ``state``; ``build`` asks for the source to be fetched again.
    ``publish`` is given on the leader only (see :func:`agreed_revision`)."""
    try:
        return _serve(state, demo_dir=demo_dir, publish=publish, build=build, report=report)
    except ownership.TreeError as error:  # the tree is not what the charm made: never retried
        raise DeployError(str(error)) from None


def _serve(
    state: WsgiState, *, demo_dir: Path, publish: Publish | None, build: bool, report: Report
) -> Outcome:
    paths = state.paths
    prepare(paths)
    # before a build: the operator who turns maintenance on with a new app_ref has the
    # site answer 503 while its release command (migrations...) runs
    maintenance.apply(paths, state.config.maintenance, state.config.maintenance_page)
    serving = releases.current(paths)
    new_release: Release | None = None
    if build or serving is None:
        try:
            new_release = build_release(
                state, demo_dir=demo_dir, publish=publish, report=report, serving=serving
            )
        except WaitingForRollout as held:  # not its turn (rollout=rolling)
            assert serving is not None
            _apply_while_held(state, serving, held)
            raise
    live = new_release or serving
    assert live is not None
    applied = put_live(state, live)
    if new_release is not None and applied.kept_previous and serving is not None:
        report(f"release {new_release.version} unhealthy; {serving.version} kept serving")
        put_live(state, serving)  # gunicorn.conf.py names the serving release's worker class again
        releases.remove(paths, new_release.id)
        raise ReleaseUnhealthy(  # a failure of the build: shown until the source is built again
            f"release {new_release.version} failed health check ({applied.detail}); "
            f"rolled back to {serving.version}",
            new_release.spec,
            new_release.version,
        )
    if new_release is not None:
        releases.switch(paths, new_release.id)
    if not applied.healthy:
        return Outcome(release=live, action=applied.action, problem=f"health check failed: {applied.detail}")
    if new_release is not None:
        releases.prune(paths, state.config.keep_releases)
        _prune_venvs(state)
    return Outcome(release=live, action=applied.action, deployed=new_release is not None)


def _apply_while_held(state: WsgiState, serving: Release, held: WaitingForRollout) -> None:
    """A unit held by a rolling release applies new settings to the release it serves. A
    failure to is told with the wait, never instead of it: a unit that forgot it waits
    would not build again when its turn comes (its source counts as built)."""
    try:
        applied = put_live(state, serving)
    except DeployError as error:
        raise WaitingForRollout(f"{held}; {error}") from None
    if not applied.healthy:
        raise WaitingForRollout(f"{held}; health check failed: {applied.detail}")


def put_live(state: WsgiState, live: Release) -> Applied:
    """Write the rendered files and bring gunicorn to ``live`` with as little as the changes
    require (see :mod:`.apply`). The exporter listens before gunicorn sends to it, and stops
    once gunicorn no longer does: a worker's statsd socket that meets a closed port fails
    its next datagram (ICMP port unreachable), so the first request's duration was lost."""
    paths, config = state.paths, state.config
    files = render_all(replace(state, release_worker_class=live.worker_class), live)
    if files.metrics_unit:
        metrics.apply_exporter(paths.metrics_service_file, files.metrics_unit, files.metrics_exporter)
    applied = apply.converge(
        paths,
        files,
        apply.target_of(files, live.id, config.port),
        lambda check_socket: health.wait_healthy(check_socket, health.check_for(config.health_check_path)),
    )
    if not files.metrics_unit:
        metrics.apply_exporter(paths.metrics_service_file, files.metrics_unit, files.metrics_exporter)
    if not applied.kept_previous:  # else the release that still serves is put live again
        run_processes(state, live, files)
    return applied


def run_processes(state: WsgiState, live: Release, files: RenderedFiles) -> None:
    """Run the process types of ``live`` that run here, as many as configured (see
    :mod:`.processes`); raises :class:`DeployError` when systemd cannot start them."""
    plan = processes.plan_for(state, live.processes)
    if plan.unknown:
        names = ", ".join(plan.unknown)
        hookenv.log(f"process_counts names {names}, which release {live.version}'s Procfile does not declare")
    if plan.capped:
        names = ", ".join(plan.capped)
        hookenv.log(f"process_counts: {names} run on the leader only (leader_processes), one instance each")
    try:
        ProcessUnits(state.paths).converge(
            files.process_units, {p.name: p.count for p in plan.running}, files.settings
        )
    except CommandFailed as error:
        raise DeployError(f"process types did not start: {error.tail(2)}") from None


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
    applied = put_live(state, target)
    if not applied.healthy:
        if not applied.kept_previous:  # nothing else could serve: stay on the target
            releases.switch(paths, target.id)
        else:
            put_live(state, serving)  # gunicorn.conf.py for the release that still serves
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
