"""What a model has on the host, found by the runner's naming conventions rather than by the
model's state, so that it also shows what a destroyed (or half-destroyed) model left:
its state and machine directories, mounts under them, network namespaces
``lj-<model>-*``, PostgreSQL clusters (listed, configuration, data, log files),
processes run from the model's files or serving its clusters, and their listening ports.
``localjuju -m <model> leftovers`` prints them and exits non-zero when there are any.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import machines, network, pg_clusters, procs
from .model import model_dir


@dataclass(frozen=True, order=True)
class Leftover:
    """One thing of a model's on the host: its ``kind`` and a line saying which."""

    kind: str
    what: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.what}"


def find(model: str) -> list[Leftover]:
    """Everything of ``model``'s on the host, sorted; empty once it is destroyed."""
    directory = model_dir(model)
    names = pg_clusters.model_clusters(model)
    found = [*files(directory), *mounts(directory), *namespaces(model), *clusters(names)]
    running = [p for p in procs.processes() if p.mentions(directory) or pg_clusters.name_in(p.argv) in names]
    return sorted({*found, *processes(running), *ports(running)})


def files(directory: Path) -> list[Leftover]:
    """The model's directory (its state) and its machines' directories."""
    if not directory.exists():
        return []
    found = [Leftover("state", str(directory))]
    machines_dir = directory / "machines"
    if machines_dir.is_dir():
        found += [Leftover("machine", str(path)) for path in sorted(machines_dir.iterdir())]
    return found


def mounts(directory: Path) -> list[Leftover]:
    return [Leftover("mount", point) for point in machines.mounts_under(directory)]


def namespaces(model: str) -> list[Leftover]:
    return [Leftover("namespace", name) for name in network.namespaces() if network.owned_by(model, name)]


def clusters(names: list[str]) -> list[Leftover]:
    """The clusters ``pg_lsclusters`` lists, and every directory or file left of them."""
    listed = {cluster.name: cluster for cluster in pg_clusters.clusters()}
    found = []
    for name in names:
        if name in listed:
            state = "online" if listed[name].running else "down"
            found.append(
                Leftover("cluster", f"{pg_clusters.VERSION}/{name} (port {listed[name].port}, {state})")
            )
        paths = [pg_clusters.conf_dir(name), pg_clusters.data_dir(name), *pg_clusters.host_files(name)]
        found += [Leftover("postgresql", str(path)) for path in paths if path.exists()]
    return found


def processes(running: list[procs.Process]) -> list[Leftover]:
    return [Leftover("process", f"{p.pid} {' '.join(p.argv)[:120]}") for p in running]


def ports(running: list[procs.Process]) -> list[Leftover]:
    """The TCP ports the processes listen on (once per network namespace and port)."""
    seen: dict[tuple[str, int], procs.Process] = {}
    for process in running:
        for port in procs.listening_ports(process.pid):
            seen.setdefault((procs.netns(process.pid), port), process)
    return [
        Leftover("port", f"{port} ({Path(p.argv[0]).name}, pid {p.pid}, {netns})")
        for (netns, port), p in seen.items()
    ]
