"""Prometheus, as the Prometheus charm configures itself from its ``metrics-endpoint``
relations (interface ``prometheus_scrape``; read: the charm's library
``charms.prometheus_k8s.v0.prometheus_scrape`` at LIBPATCH 61, ``MetricsEndpointConsumer``,
see FIDELITY.md):

- a relation with no unit, or an empty ``scrape_jobs`` (application data, JSON), gives no job;
- with ``scrape_metadata`` (the provider's Juju topology) every job is named
  ``juju_<model>_<uuid[:8]>_<application>_prometheus_scrape[_<job_name>]``, keeps only the
  library's allowed keys over its default job (``/metrics``, ``*:80``), and each ``*:<port>``
  target becomes one job per unit (``<name>-<unit number>``), ``*`` replaced by the unit's
  ``prometheus_scrape_unit_address`` and the path prefixed by its ``prometheus_scrape_unit_path``,
  labelled ``juju_model``, ``juju_model_uuid``, ``juju_application``, ``juju_charm`` and
  ``juju_unit``, with the ``instance`` relabelling of the library; a target naming a unit's
  own address becomes that unit's job the same way;
- equal job names get a hash suffix, equal jobs are kept once (``_dedupe_job_names``).

Hostile data is checked before it is written (the charm leaves that to Prometheus and
cos-tool): a target that is not a unit's own address (in the model), a port, path, job name,
label or interval out of shape, or a key this runner does not render (``proxy_url``,
``tls_config``, ``basic_auth``, ...) is skipped with a note in the unit's ``problem.log``;
the whole file is YAML from one encoder and ``promtool check config`` passes it first.

localjuju differences: each unit runs Debian's ``prometheus`` (2.42) as the ``prometheus``
user with its own config, data and port (9090 and up; 9090 in an isolated model's server
namespace), started once and reloaded with ``POST /-/reload`` when its jobs change; option
``scrape_interval`` sets the global interval (the charm's default 1m; tests shorten it).
No alert rules, remote write, TLS, ingress or self-scrape job.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import servers

if TYPE_CHECKING:
    from .agent import Agent
    from .model import Model

BASE_PORT = 9090
ENDPOINT = "metrics-endpoint"
OPTIONS = {
    "scrape_interval": {
        "type": "string",
        "default": "1m",
        "description": "localjuju: the global scrape and evaluation interval (the charm's: 1m)",
    },
}
Job = dict[str, Any]
Units = list[tuple[str, dict[str, str]]]
Hosts = dict[str, tuple[str, str]]  # unit name -> (address, path prefix)

# the library's ALLOWED_KEYS that this runner renders; the others are skipped (noted)
RENDERED_KEYS = ("job_name", "metrics_path", "static_configs", "scrape_interval", "scrape_timeout")
ALLOWED_KEYS = {
    *RENDERED_KEYS,
    *("proxy_url", "relabel_configs", "metric_relabel_configs", "sample_limit", "label_limit"),
    *("label_name_length_limit", "label_value_length_limit", "scheme", "basic_auth", "tls_config"),
    *("authorization", "params"),
}
DEFAULT_JOB: Job = {"metrics_path": "/metrics", "static_configs": [{"targets": ["*:80"]}]}
TOPOLOGY_KEYS = ("model", "model_uuid", "application", "unit", "charm_name")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # Juju model, application and charm names
_JOB_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_PATH = re.compile(r"(/[A-Za-z0-9._~-]*){1,16}")
_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_DURATION = re.compile(r"[1-9][0-9]{0,4}(ms|s|m|h)")
_WILDCARD = re.compile(r"\*:([0-9]{1,5})")
_HOST_PORT = re.compile(r"([0-9.]{7,15}):([0-9]{1,5})")


class Skipped(Exception):
    """A job, target or unit this runner leaves out (the reason is noted)."""


# -- the relation's data, checked ----------------------------------------------------------


def topology(metadata: str, remote_app: str) -> dict[str, str] | None:
    """The provider's ``scrape_metadata``; ``None`` when it has none. Raises :class:`Skipped`
    when it is not a topology of ``remote_app`` (the library fails on a bad model UUID)."""
    try:
        data = json.loads(metadata or "{}")
    except ValueError as error:
        raise Skipped(f"scrape_metadata is not JSON: {error}") from None
    if not data:
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k, ""), str) for k in TOPOLOGY_KEYS):
        raise Skipped("scrape_metadata is not a topology")
    found = {key: str(data.get(key) or "") for key in TOPOLOGY_KEYS}
    if not _valid_uuid(found["model_uuid"]):
        raise Skipped(f"scrape_metadata: {found['model_uuid']!r} is not a valid UUID")
    if found["application"] != remote_app or not _NAME.fullmatch(found["model"]):
        raise Skipped(f"scrape_metadata names another model or application than {remote_app}")
    if found["charm_name"] and not _NAME.fullmatch(found["charm_name"]):
        raise Skipped(f"scrape_metadata: charm_name {found['charm_name']!r}")
    return found


def _valid_uuid(text: str) -> bool:
    """As the library's JujuTopology: a version 4 UUID, in its canonical spelling."""
    try:
        return str(uuid.UUID(text, version=4)) == text
    except (ValueError, TypeError):
        return False


def hosts(units: Units, addresses: dict[str, str], notes: list[str]) -> Hosts:
    """Unit name -> (address, path prefix) of each unit that published both, as the
    library's ``_relation_hosts`` reads them; a unit whose address is not its own in the
    model (``addresses``), or whose name or path is not its own shape, is noted and skipped."""
    found: Hosts = {}
    for unit, data in units:
        name = data.get("prometheus_scrape_unit_name") or unit
        address = data.get("prometheus_scrape_unit_address") or data.get("prometheus_scrape_host") or ""
        path = data.get("prometheus_scrape_unit_path") or ""
        if not address:
            continue  # not published yet
        if name != unit or address != addresses.get(unit):
            notes.append(f"{unit}: skipped: it names {name!r} at {address!r}, not itself")
        elif path and not _PATH.fullmatch(path):
            notes.append(f"{unit}: skipped: prometheus_scrape_unit_path {path!r}")
        else:
            found[name] = (address, path)
    return found


def scrape_jobs(text: str) -> list[Job]:
    """The provider's ``scrape_jobs``; raises :class:`Skipped` when it is not a JSON list of
    objects."""
    try:
        data = json.loads(text or "[]")
    except ValueError as error:
        raise Skipped(f"scrape_jobs is not JSON: {error}") from None
    if not isinstance(data, list) or not all(isinstance(job, dict) for job in data):
        raise Skipped("scrape_jobs is not a list of jobs")
    return data


# -- the consumer's steps (MetricsEndpointConsumer._static_scrape_config) ------------------


def prefixed(job: Job, prefix: str) -> Job:
    """``prefix`` (and ``_<job_name>`` when the job names itself) as the job's name; raises
    :class:`Skipped` for a name of another shape."""
    name = job.get("job_name")
    if name and not (isinstance(name, str) and _JOB_NAME.fullmatch(name)):
        raise Skipped(f"job name {name!r}")
    return {**job, "job_name": f"{prefix}_{name}" if name else prefix}


def sanitized(job: Job, notes: list[str]) -> Job:
    """The library's default job overlaid with the job's allowed keys; the allowed keys this
    runner does not render are noted and dropped."""
    dropped = sorted(key for key in job if key in ALLOWED_KEYS and key not in RENDERED_KEYS)
    if dropped:
        notes.append(f"{job.get('job_name', '?')}: not rendered here: {', '.join(dropped)}")
    return {**DEFAULT_JOB, **{key: value for key, value in job.items() if key in RENDERED_KEYS}}


def labels_of(topology: dict[str, str]) -> dict[str, str]:
    """The topology labels (``label_matcher_dict``): no unit, ``charm_name`` as ``juju_charm``."""
    renamed = {"charm_name": "charm"}
    return {f"juju_{renamed.get(k, k)}": v for k, v in topology.items() if k != "unit" and v}


def instance_relabel(with_unit: bool) -> Job:
    """The library's relabelling of ``instance`` from the topology labels."""
    sources = ["juju_model", "juju_model_uuid", "juju_application"] + (["juju_unit"] if with_unit else [])
    return {"source_labels": sources, "separator": "_", "target_label": "instance", "regex": "(.*)"}


def checked_job(job: Job) -> Job:
    """``job`` if every value is of the shape Prometheus reads; raises :class:`Skipped`."""
    name = job["job_name"]
    path = job.get("metrics_path")
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise Skipped(f"{name}: metrics_path {path!r}")
    for key in ("scrape_interval", "scrape_timeout"):
        if key in job and not (isinstance(job[key], str) and _DURATION.fullmatch(job[key])):
            raise Skipped(f"{name}: {key} {job[key]!r}")
    if not isinstance(job.get("static_configs"), list):
        raise Skipped(f"{name}: static_configs is not a list")
    return job


def static_labels(static_config: Any) -> dict[str, str]:
    """A static config's own labels; raises :class:`Skipped` unless they are plain label
    names (not Prometheus's reserved ``__`` ones) with short string values."""
    if not isinstance(static_config, dict) or not isinstance(static_config.get("labels", {}), dict):
        raise Skipped("a static config is not an object with labels")
    labels = static_config.get("labels", {})
    for name, value in labels.items():
        if not _LABEL.fullmatch(str(name)) or str(name).startswith("__"):
            raise Skipped(f"label name {name!r}")
        if not isinstance(value, str) or len(value) > 256 or not value.isprintable():
            raise Skipped(f"label {name}: value {value!r}")
    return dict(labels)


def port_of(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise Skipped(f"port {port}")
    return port


def unit_targets(targets: Any, hosts: Hosts) -> dict[str, list[str]]:
    """Unit -> its ``address:port`` targets: ``*:<port>`` for every unit, ``<address>:<port>``
    for the unit at that address. Raises :class:`Skipped` for anything else (a target
    elsewhere than the related units, which the library would scrape without ``juju_unit``)."""
    if not isinstance(targets, list):
        raise Skipped("targets is not a list")
    by_address = {address: unit for unit, (address, _) in hosts.items()}
    found: dict[str, list[str]] = {}
    for target in targets:
        text = str(target)
        if wildcard := _WILDCARD.fullmatch(text):
            port = port_of(wildcard.group(1))
            for unit, (address, _) in hosts.items():
                found.setdefault(unit, []).append(f"{address}:{port}")
        elif (explicit := _HOST_PORT.fullmatch(text)) and explicit.group(1) in by_address:
            unit = by_address[explicit.group(1)]
            found.setdefault(unit, []).append(f"{explicit.group(1)}:{port_of(explicit.group(2))}")
        else:
            raise Skipped(f"target {text!r} is not a unit's own address")
    return found


def per_unit_jobs(job: Job, hosts: Hosts, topology: dict[str, str]) -> list[Job]:
    """One job per unit and static config (``_build_per_unit_job``)."""
    jobs = []
    for static_config in job["static_configs"]:
        labels = static_labels(static_config)
        for unit, targets in unit_targets(static_config.get("targets"), hosts).items():
            _, path = hosts[unit]
            jobs.append(
                {
                    **job,
                    "job_name": f"{job['job_name']}-{unit.split('/')[-1]}",
                    "metrics_path": path + job["metrics_path"],
                    "static_configs": [
                        {"targets": targets, "labels": {**labels_of(topology), "juju_unit": unit, **labels}}
                    ],
                    "relabel_configs": [instance_relabel(with_unit=True)],
                }
            )
    return jobs


def deduplicated(jobs: list[Job]) -> list[Job]:
    """Jobs sharing a name get ``_<sha256 of the job>``; equal jobs are kept once."""
    names = [job["job_name"] for job in jobs]
    renamed = [
        {**job, "job_name": f"{job['job_name']}_{_digest(job)}"} if names.count(job["job_name"]) > 1 else job
        for job in jobs
    ]
    kept: dict[str, Job] = {}
    for job in renamed:
        kept.setdefault(_digest(job), job)
    return list(kept.values())


def _digest(job: Job) -> str:
    return hashlib.sha256(json.dumps(job).encode()).hexdigest()


def relation_jobs(
    app_data: dict[str, str], units: Units, addresses: dict[str, str], remote_app: str
) -> tuple[list[Job], list[str]]:
    """The scrape jobs of one ``metrics-endpoint`` relation and the notes on what was
    skipped. Jobs without ``scrape_metadata`` (no topology to label them with) are skipped:
    their targets could name anything."""
    notes: list[str] = []
    if not units:
        return [], notes
    try:
        jobs, found = (
            scrape_jobs(app_data.get("scrape_jobs", "")),
            topology(app_data.get("scrape_metadata", ""), remote_app),
        )
    except Skipped as skipped:
        return [], [f"{remote_app}: {skipped}"]
    if not jobs:
        return [], notes
    if found is None:
        return [], [f"{remote_app}: jobs without scrape_metadata are not rendered here"]
    prefix = f"juju_{found['model']}_{found['model_uuid'][:8]}_{found['application']}_prometheus_scrape"
    units_hosts = hosts(units, addresses, notes)
    result = []
    for job in jobs:
        try:
            result.extend(
                per_unit_jobs(checked_job(sanitized(prefixed(job, prefix), notes)), units_hosts, found)
            )
        except Skipped as skipped:
            notes.append(f"{remote_app}: job skipped: {skipped}")
    return deduplicated(result), notes


def render_config(jobs: Iterable[Job], scrape_interval: str) -> str:
    """The whole prometheus.yml: every value encoded by one YAML dumper."""
    document = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "scrape_configs": list(jobs),
    }
    return "# Generated by localjuju (servers_prometheus.py); rewritten on every change.\n" + yaml.safe_dump(
        document, sort_keys=False, default_flow_style=False
    )


# -- the model and the process ---------------------------------------------------------------


def related(model: Model, unit: str) -> list[tuple[str, dict[str, str], Units]]:
    """(remote application, its application data, its units' data) of every live
    ``metrics-endpoint`` relation, in relation id order."""
    app = model.units[unit]["app"]
    found = []
    for _, rel in sorted(servers.live_relations(model, app), key=lambda item: int(item[0])):
        if rel["apps"][app] != ENDPOINT:
            continue
        remote_app = next(other for other in rel["apps"] if other != app)
        units = [
            (remote, dict(rel["data"].get(remote, {}))) for remote in servers.remote_units(model, rel, unit)
        ]
        found.append((remote_app, dict(rel["data"].get(remote_app, {})), units))
    return found


def all_jobs(model: Model, unit: str) -> tuple[list[Job], list[str]]:
    """Every relation's jobs (deduplicated across them, as ``jobs()`` does) and the notes."""
    jobs: list[Job] = []
    notes: list[str] = []
    for remote_app, app_data, units in related(model, unit):
        addresses = {name: servers.unit_address(model, name) for name, _ in units}
        found, skipped = relation_jobs(app_data, units, addresses, remote_app)
        jobs += found
        notes += skipped
    return deduplicated(jobs), notes


def command(config: Path, data: Path, listener: str) -> list[str]:
    return [
        "/usr/bin/prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        "--storage.tsdb.retention.time=1d",
        f"--web.listen-address={listener}",
        "--web.enable-lifecycle",
        "--web.console.templates=/etc/prometheus/consoles",
        "--web.console.libraries=/etc/prometheus/console_libraries",
    ]


def apply(directory: Path, listener: str, text: str) -> None:
    """Check and write the config; start Prometheus, or reload it when the config changed
    (``POST /-/reload``: answered once the new config is loaded)."""
    servers.ensure_packages("/usr/bin/prometheus", ["prometheus"])
    conf, pidfile = directory / "prometheus.yml", directory / "prometheus.pid"
    running = servers.read_pid(pidfile) is not None
    if running and conf.exists() and conf.read_text() == text:
        return
    candidate = directory / "prometheus.yml.new"
    candidate.write_text(text)
    servers.run(["promtool", "check", "config", str(candidate)])
    candidate.chmod(0o644)
    candidate.replace(conf)
    if running:
        reload(listener)
        return
    start(directory, conf, listener)


def reload(listener: str) -> None:
    """``POST /-/reload`` straight to the unit's listener (no proxy from the environment);
    raises RuntimeError unless Prometheus loaded the new config."""
    host, port = listener.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("POST", "/-/reload")
        answer = connection.getresponse()
        body = answer.read().decode(errors="replace")
    finally:
        connection.close()
    if answer.status != 200:
        raise RuntimeError(f"prometheus /-/reload answered {answer.status}: {body.strip()[:500]}")


def start(directory: Path, conf: Path, listener: str) -> None:
    """Start the unit's Prometheus as the ``prometheus`` user, detached, and wait for it."""
    data = directory / "data"
    data.mkdir(exist_ok=True)
    shutil.chown(data, "prometheus", "prometheus")
    directory.chmod(0o755)
    directory.parent.chmod(0o755)
    with open(directory / "prometheus.log", "ab") as log:
        process = subprocess.Popen(
            command(conf, data, listener),
            cwd=directory,
            user="prometheus",
            group="prometheus",
            extra_groups=[],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    (directory / "prometheus.pid").write_text(f"{process.pid}\n")
    host, port = listener.rsplit(":", 1)
    servers.wait_for_port(int(port), timeout=30, host=host)


def interval(config: dict[str, Any]) -> str:
    value = str(config.get("scrape_interval") or "1m")
    if not _DURATION.fullmatch(value):
        raise Skipped(f"scrape_interval {value!r} is not a duration such as 15s or 1m")
    return value


def handle(agent: Agent, unit: str, event: dict[str, Any]) -> None:
    """Any event: render every related application's jobs, start or reload Prometheus; Juju's
    keys only on the relations (the charm's consumer side publishes nothing there)."""
    model = agent.model
    directory = servers.unit_dir(model, unit)
    host = servers.unit_address(model, unit)
    port = servers.allocate_port(model, unit, BASE_PORT)
    servers.publish_everywhere(agent, unit, {})
    try:
        scrape_interval = interval(agent.effective_config(model.units[unit]["app"]))
    except Skipped as problem:
        servers.set_status(model, unit, "blocked", str(problem))
        return
    jobs, notes = all_jobs(model, unit)
    (directory / "problem.log").write_text("".join(f"{note}\n" for note in notes))
    apply(directory, f"{host}:{port}", render_config(jobs, scrape_interval))
    model.units[unit]["ports"] = [f"{port}/tcp"]
    skipped = f", {len(notes)} skipped (problem.log)" if notes else ""
    servers.set_status(model, unit, "active", f"ready (:{port}, {len(jobs)} scrape job(s){skipped})")


def teardown(model: Model, unit: str) -> None:
    servers.stop_pid(servers.unit_dir(model, unit) / "prometheus.pid")


def sweep(model_name: str) -> None:
    """Stop any of the model's Prometheus processes still running (whatever its state records)."""
    servers.stop_strays(model_name, "prometheus")


servers.register(
    servers.ServerKind(
        name="prometheus",
        charm="prometheus",
        provides={},
        requires={ENDPOINT: "prometheus_scrape"},
        handle=handle,
        teardown=teardown,
        sweep=sweep,
        options=OPTIONS,
        description="Debian's prometheus, jobs from metrics-endpoint as the charm's library builds them",
    )
)
