"""PostgreSQL 15 clusters on the host, as Debian's postgresql-common keeps them: create,
start, clone, list and drop them (``pg_createcluster``, ``pg_ctlcluster`` never redirected
to systemd, ``pg_basebackup``, ``pg_lsclusters``, ``pg_dropcluster``).

A model's clusters are named ``lj-<model>-<app>-<n>``. The runner's one file in a
cluster's configuration, ``conf.d/localjuju.conf``, also names the model, so that a model
called ``a`` never claims the clusters of a model called ``a-b``. :func:`drop` removes a
cluster whole (configuration, data, log, running server), also a half-created one.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import procs, servers

VERSION = "15"
BIN = Path(f"/usr/lib/postgresql/{VERSION}/bin")
SOCKETS = "/var/run/postgresql"
CONF_ROOT = Path(f"/etc/postgresql/{VERSION}")
DATA_ROOT = Path(f"/var/lib/postgresql/{VERSION}")
LOG_DIR = Path("/var/log/postgresql")
OWN_CONF = "conf.d/localjuju.conf"
MODEL_LINE = "# localjuju model: "
TITLE = f"postgres: {VERSION}/"  # how a server's processes name themselves: "postgres: 15/main: ..."


# -- names, pure ------------------------------------------------------------------------------


def cluster_name(model: str, unit: str) -> str:
    """``lj-<model>-<app>-<n>``, with anything but letters, digits and ``-`` made a ``-``."""
    return re.sub(r"[^A-Za-z0-9-]", "-", f"lj-{model}-{unit}")


def prefix(model: str) -> str:
    return cluster_name(model, "")


def own_conf(model: str, host: str) -> str:
    """The runner's ``conf.d`` file: the model it belongs to, TCP on the unit's address only."""
    return f"{MODEL_LINE}{model}\nlisten_addresses = '{host}'\n"


def marked_model(text: str) -> str | None:
    """The model an :func:`own_conf` text names, if any."""
    for line in text.splitlines():
        if line.startswith(MODEL_LINE):
            return line.removeprefix(MODEL_LINE).strip()
    return None


def owned_by(model: str, name: str, marked: str | None) -> bool:
    """Whether cluster ``name`` is ``model``'s: named for it, and not marked as another's."""
    return name.startswith(prefix(model)) and marked in (None, model)


def name_in(argv: tuple[str, ...]) -> str | None:
    """The cluster a PostgreSQL server process serves (``None`` for any other process): the
    postmaster's ``-D`` data directory, or the name in its children's process titles."""
    if argv and argv[0].startswith(TITLE):
        return argv[0].removeprefix(TITLE).split(":", 1)[0]
    if argv and Path(argv[0]).name == "postgres" and "-D" in argv[:-1]:
        data = Path(argv[argv.index("-D") + 1])
        return data.name if data.parent == DATA_ROOT else None
    return None


@dataclass(frozen=True)
class Cluster:
    """One row of ``pg_lsclusters``."""

    name: str
    port: int
    running: bool


def parse_clusters(text: str) -> list[Cluster]:
    """The clusters of version 15 in ``pg_lsclusters --json`` output."""
    return [
        Cluster(str(row["cluster"]), int(row.get("port") or 0), bool(row.get("running")))
        for row in json.loads(text or "[]")
        if str(row.get("version")) == VERSION
    ]


# -- the host's clusters ----------------------------------------------------------------------


def data_dir(name: str) -> Path:
    return DATA_ROOT / name


def conf_dir(name: str) -> Path:
    return CONF_ROOT / name


def host_files(name: str) -> list[Path]:
    """What a cluster has on the host outside its two directories: its log and pid file."""
    return [LOG_DIR / f"postgresql-{VERSION}-{name}.log", Path(SOCKETS) / f"{VERSION}-{name}.pid"]


def clusters() -> list[Cluster]:
    """Every cluster ``pg_lsclusters`` lists (none when PostgreSQL is not installed)."""
    try:
        result = subprocess.run(["pg_lsclusters", "--json"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return []
    return parse_clusters(result.stdout) if result.returncode == 0 else []


def cluster_ports() -> set[int]:
    """Ports of every PostgreSQL cluster on the host (also stopped ones)."""
    return {cluster.port for cluster in clusters()}


def marker_of(name: str) -> str | None:
    path = conf_dir(name) / OWN_CONF
    return marked_model(path.read_text()) if path.exists() else None


def names_on_host() -> set[str]:
    """Every cluster name the host has a trace of: listed clusters, configuration and data
    directories, log and pid files, and the arguments of running servers."""
    names = {cluster.name for cluster in clusters()}
    for root in (CONF_ROOT, DATA_ROOT):
        if root.is_dir():
            names |= {path.name for path in root.iterdir()}
    for pattern, directory in (("postgresql-{}-*.log", LOG_DIR), ("{}-*.pid", Path(SOCKETS))):
        head, tail = pattern.format(VERSION).split("*")
        names |= {p.name.removeprefix(head).removesuffix(tail) for p in directory.glob(head + "*" + tail)}
    names |= {name for p in procs.processes() if (name := name_in(p.argv))}
    return names


def model_clusters(model: str) -> list[str]:
    """The names of ``model``'s clusters, whatever is left of them (see :func:`names_on_host`)."""
    return sorted(name for name in names_on_host() if owned_by(model, name, marker_of(name)))


def processes_of(name: str) -> list[procs.Process]:
    """The server processes of cluster ``name`` (found by their arguments)."""
    return [p for p in procs.processes() if name_in(p.argv) == name]


# -- lifecycle --------------------------------------------------------------------------------


def ctl(name: str, action: str, *extra: str, check: bool = True) -> int:
    """``pg_ctlcluster`` (never redirected to systemd); its exit code, or RuntimeError if ``check``."""
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", VERSION, name, action, *extra]
    if check:
        servers.run(command)
        return 0
    return subprocess.run(command, capture_output=True, text=True).returncode


def running(name: str) -> bool:
    return conf_dir(name).exists() and ctl(name, "status", check=False) == 0


def initialised(name: str) -> bool:
    """Whether the cluster has both its configuration and its data."""
    return conf_dir(name).is_dir() and (data_dir(name) / "PG_VERSION").exists()


def create(model: str, name: str, port: int, host: str) -> None:
    """A new cluster ``name`` of ``model`` on ``port``, listening on ``host`` (not started)."""
    servers.run(["pg_createcluster", "--start-conf=manual", "-p", str(port), VERSION, name])
    # conf.d is included by Debian's postgresql.conf
    (conf_dir(name) / OWN_CONF).write_text(own_conf(model, host))


def drop(name: str) -> None:
    """Stop and remove cluster ``name`` whole; nothing to do when it is gone already."""
    if conf_dir(name).exists():
        ctl(name, "stop", "-m", "fast", check=False)
    procs.terminate(p.pid for p in processes_of(name))  # e.g. a server whose data directory went
    # pg_dropcluster removes the files it made and then only empty directories
    (conf_dir(name) / OWN_CONF).unlink(missing_ok=True)
    if conf_dir(name).exists():
        subprocess.run(["pg_dropcluster", "--stop", VERSION, name], capture_output=True, check=False)
    for directory in (conf_dir(name), data_dir(name)):
        shutil.rmtree(directory, ignore_errors=True)
    for path in host_files(name):
        path.unlink(missing_ok=True)


def is_standby(name: str) -> bool:
    return (data_dir(name) / "standby.signal").exists()


def streams_from(name: str, port: int) -> bool:
    auto = data_dir(name) / "postgresql.auto.conf"
    return auto.exists() and f"port={port}" in auto.read_text()


def clone(name: str, master_port: int) -> None:
    """Make cluster ``name`` a fresh hot standby of the cluster on ``master_port``."""
    ctl(name, "stop", "-m", "fast", check=False)
    target = data_dir(name)
    shutil.rmtree(target, ignore_errors=True)
    servers.run(
        [
            *("runuser", "-u", "postgres", "--", str(BIN / "pg_basebackup"), "-D", str(target)),
            *("-h", SOCKETS, "-p", str(master_port), "-U", "postgres", "-X", "stream", "-R", "-c", "fast"),
        ]
    )


# -- talking to a cluster ---------------------------------------------------------------------


def psql(port: int, sql: str, database: str = "postgres", *, secret: bool = False) -> str:
    """Run ``sql`` as the postgres superuser over the local socket; return the unaligned output.
    ``secret`` SQL (a password in it) goes on psql's stdin, never into its argv, which every
    user of the host can read in the process list."""
    command = ["runuser", "-u", "postgres", "--", "psql", "-h", SOCKETS, "-p", str(port), "-d", database]
    where = ["-f", "-"] if secret else ["-c", sql]
    result = subprocess.run(
        [*command, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", *where],
        input=sql if secret else None,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql on port {port} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def wait_ready(port: int, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while True:
        try:
            psql(port, "SELECT 1")
            return
        except RuntimeError:
            if time.monotonic() > end:
                raise
            time.sleep(0.3)


def wait_writable(port: int, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while psql(port, "SELECT pg_is_in_recovery()") == "t":
        if time.monotonic() > end:
            raise RuntimeError(f"the cluster on port {port} is still in recovery")
        time.sleep(0.2)
