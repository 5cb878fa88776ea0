"""The pure parts of the host's PostgreSQL clusters: a model's cluster names, the runner's
conf.d file naming the model, which clusters (and server processes) are a model's, and
``pg_lsclusters --json`` output; finding a model's clusters from what the host has left."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from localjuju import pg_clusters, pg_provision, procs

# pg_lsclusters --json on a host with Debian's main cluster and a model's half-created one
# (its data directory gone: owner unknown), trimmed to the keys read and a few more
LSCLUSTERS = json.dumps(
    [
        {
            "cluster": "lj-cleanup-7-postgresql-0",
            "version": 15,
            "port": "5433",
            "running": 0,
            "owneruid": None,
            "pgdata": "/var/lib/postgresql/15/lj-cleanup-7-postgresql-0",
            "configdir": "/etc/postgresql/15/lj-cleanup-7-postgresql-0",
            "config": {"cluster_name": "15/lj-cleanup-7-postgresql-0", "listen_addresses": "127.0.0.1"},
        },
        {"cluster": "main", "version": 15, "port": "5432", "running": 1, "owneruid": 101},
        {"cluster": "old", "version": 13, "port": "5434", "running": 0},
    ]
)


def test_cluster_names_follow_the_model_and_unit() -> None:
    assert pg_clusters.cluster_name("e2e-cleanup-42", "postgresql/1") == "lj-e2e-cleanup-42-postgresql-1"
    assert pg_clusters.cluster_name("my_model", "db/0") == "lj-my-model-db-0"
    assert pg_clusters.prefix("e2e-cleanup-42") == "lj-e2e-cleanup-42-"


def test_the_runners_conf_file_names_its_model() -> None:
    text = pg_clusters.own_conf("e2e-cleanup-42", "10.231.0.2")
    assert text == "# localjuju model: e2e-cleanup-42\nlisten_addresses = '10.231.0.2'\n"
    assert pg_clusters.marked_model(text) == "e2e-cleanup-42"
    assert pg_clusters.marked_model("listen_addresses = '127.0.0.1'\n") is None  # written before markers


def test_a_model_owns_only_its_own_clusters() -> None:
    assert pg_clusters.owned_by("a", "lj-a-postgresql-0", "a")
    assert pg_clusters.owned_by("a", "lj-a-postgresql-0", None)  # half-created: no marker yet
    assert not pg_clusters.owned_by("a", "lj-a-b-postgresql-0", "a-b")  # model a-b's, same prefix
    assert not pg_clusters.owned_by("a", "lj-ab-postgresql-0", None)
    assert not pg_clusters.owned_by("a", "main", None)


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (
            (
                "/usr/lib/postgresql/15/bin/postgres",
                "-D",
                "/var/lib/postgresql/15/lj-m-postgresql-0",
                "-c",
                "config_file=/etc/postgresql/15/lj-m-postgresql-0/postgresql.conf",
            ),
            "lj-m-postgresql-0",
        ),
        (("postgres: 15/lj-m-postgresql-1: walreceiver streaming 0/3000148",), "lj-m-postgresql-1"),
        (("postgres: 15/main: checkpointer ",), "main"),
        # other processes that name a cluster are not its server
        (("pg_dropcluster", "--stop", "15", "lj-m-postgresql-0"), None),
        (("sh", "-c", "ls /var/lib/postgresql/15/lj-m-postgresql-0"), None),
        (("tail", "-f", "/var/log/postgresql/postgresql-15-lj-m-postgresql-0.log"), None),
        (("memcached", "-p", "11215"), None),
    ],
)
def test_only_a_server_process_names_its_cluster(argv: tuple[str, ...], name: str | None) -> None:
    assert pg_clusters.name_in(argv) == name


def test_pg_lsclusters_json_gives_the_version_15_clusters() -> None:
    assert pg_clusters.parse_clusters(LSCLUSTERS) == [
        pg_clusters.Cluster("lj-cleanup-7-postgresql-0", 5433, False),
        pg_clusters.Cluster("main", 5432, True),
    ]
    assert pg_clusters.parse_clusters("") == []


def test_a_models_clusters_are_found_from_any_trace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Listed, a configuration or data directory alone, a log file, a running server: each
    is enough; another model's marked cluster and Debian's main are never the model's."""
    roots = {name: tmp_path / name for name in ("etc", "lib", "log", "run")}
    for root in roots.values():
        root.mkdir()
    monkeypatch.setattr(pg_clusters, "CONF_ROOT", roots["etc"])
    monkeypatch.setattr(pg_clusters, "DATA_ROOT", roots["lib"])
    monkeypatch.setattr(pg_clusters, "LOG_DIR", roots["log"])
    monkeypatch.setattr(pg_clusters, "SOCKETS", str(roots["run"]))
    monkeypatch.setattr(pg_clusters, "clusters", lambda: pg_clusters.parse_clusters(LSCLUSTERS))
    server = procs.Process(9, ("postgres: 15/lj-cleanup-7-postgresql-4: checkpointer",))
    monkeypatch.setattr(procs, "processes", lambda: [server])
    (roots["etc"] / "main").mkdir()
    (roots["etc"] / "lj-cleanup-7-postgresql-1").mkdir()  # half-created: no conf.d yet
    (roots["lib"] / "lj-cleanup-7-postgresql-2").mkdir()
    (roots["log"] / "postgresql-15-lj-cleanup-7-postgresql-3.log").touch()
    other = roots["etc"] / "lj-cleanup-7-x-postgresql-0" / "conf.d"
    other.mkdir(parents=True)
    (other / "localjuju.conf").write_text(pg_clusters.own_conf("cleanup-7-x", "127.0.0.1"))
    assert pg_clusters.model_clusters("cleanup-7") == [f"lj-cleanup-7-postgresql-{n}" for n in range(5)]
    assert pg_clusters.model_clusters("cleanup-7-x") == ["lj-cleanup-7-x-postgresql-0"]


def test_a_password_goes_to_psql_on_stdin_not_in_its_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any user of the host reads every process's argv (ps): ALTER ROLE ... PASSWORD must not be there."""
    calls: list[tuple[list[str], str | None]] = []

    def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append((argv, kwargs.get("input")))  # type: ignore[arg-type]
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(pg_clusters.subprocess, "run", run)
    pg_provision.login(5433, "relation-7", "s3cretPassw0rd", superuser=False)
    alter = [(argv, given) for argv, given in calls if given and "ALTER ROLE" in given]
    assert alter and "PASSWORD 's3cretPassw0rd'" in str(alter[0][1])
    assert all("s3cretPassw0rd" not in " ".join(argv) for argv, _ in calls)
