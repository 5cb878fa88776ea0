"""Destroy leaves nothing behind, and the same model name deploys again.

One model gets every server kind, on the host and ``--isolated`` (PostgreSQL clusters,
memcached, apache2, the Elasticsearch STAND-IN; the server namespace), and the charm on a
machine related to the host's servers. ``localjuju leftovers`` sees all of it while it
runs, and nothing once the model is destroyed: no cluster, configuration directory,
process, listening port, namespace or mount. Deployed again under the same name, the
charm gets a working database (the bug: the first run's PostgreSQL configuration was
left and the new cluster could not start). Then the model's state file is removed and
destroy still finds and removes everything by name; last, a deploy interrupted while
its PostgreSQL cluster is being created removes what it made, and the model with it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from localmodel import APP, LocalModel, http_get

from localjuju import leftovers, pg_clusters, servers
from localjuju.driver import wait_for

URL = "http://127.0.0.1:8080"
KINDS = ("postgresql", "memcached", "elasticsearch", "apache2")
RELATIONS = (("cache", "memcached:cache"), ("search", "elasticsearch:client"))


def host_ports(model: LocalModel) -> list[int]:
    """The ports the model's servers on the host (not isolated) listen on."""
    data = model.record()
    return [
        int(unit["server"]["port"])
        for unit in data["units"].values()
        if unit["machine"] == "host" and not data["applications"][unit["app"]].get("isolated")
    ]


def host_services() -> dict[str, bool]:
    """What the host has of its own, which a destroy must leave alone."""
    return {
        "postgresql main": Path("/etc/postgresql/15/main").is_dir(),
        "apache2 default site": Path("/etc/apache2/sites-enabled/000-default.conf").exists(),
    }


def deploy_database_app(model: LocalModel, charm: Path) -> None:
    model.cli("deploy", "postgresql")
    model.cli("deploy", str(charm))
    model.cli("relate", f"{APP}:db", "postgresql:db")


def database_url(model: LocalModel) -> str:
    return model.settings().get("DATABASE_URL", "")


def assert_database_works(model: LocalModel) -> None:
    unit = model.unit()
    assert unit["workload-status"] == "active", unit
    assert database_url(model).startswith("postgresql://")
    database = http_get(f"{URL}/healthz").json()["backends"]["database"]
    assert database["ok"] is True and "postgresql" in database["detail"], database


@pytest.fixture(scope="module")
def everything(model: LocalModel, charm: Path) -> LocalModel:
    """Every server kind on the host and isolated, and the charm related to the host's."""
    before = host_services()
    for kind in KINDS:
        model.cli("deploy", kind, f"{kind}-isolated", "--isolated")
    deploy_database_app(model, charm)
    for kind in KINDS[1:]:
        model.cli("deploy", kind)
    for endpoint, other in RELATIONS:
        model.cli("relate", f"{APP}:{endpoint}", other)
    model.cli("relate", "apache2:balancer", f"{APP}:website")
    assert host_services() == before
    return model


def test_leftovers_sees_everything_a_model_runs(everything: LocalModel) -> None:
    kinds = {item.kind for item in leftovers.find(everything.name)}
    assert {"state", "machine", "mount", "namespace", "cluster", "postgresql", "process", "port"} <= kinds
    assert everything.cli("leftovers", check=False).returncode == 1
    assert_database_works(everything)


def test_destroy_leaves_nothing(everything: LocalModel) -> None:
    ports = host_ports(everything)
    assert len(ports) == len(KINDS), ports
    before = host_services()
    everything.cli("destroy")
    assert leftovers.find(everything.name) == []
    assert everything.cli("leftovers", check=False).returncode == 0
    assert all(servers.port_is_free(port) for port in [*ports, 8080]), ports
    assert host_services() == before


def test_the_same_model_deploys_again(everything: LocalModel, charm: Path) -> None:
    """The bug: the first run's PostgreSQL configuration stayed and the cluster could not start."""
    deploy_database_app(everything, charm)
    everything.cli("deploy", "postgresql", "postgresql-isolated", "--isolated")
    assert_database_works(everything)
    isolated = everything.unit("postgresql-isolated/0")
    assert isolated["workload-status"] == "active", isolated


def test_destroy_without_the_state_file_finds_everything_by_name(everything: LocalModel) -> None:
    assert leftovers.find(everything.name)
    (everything.directory / "model.json").unlink()
    everything.cli("destroy")
    assert leftovers.find(everything.name) == []


def test_an_interrupted_deploy_removes_what_it_made(model: LocalModel) -> None:
    # three units: the standbys are still being cloned when the first cluster shows (one
    # unit alone can be done before the signal arrives)
    command = [sys.executable, "-m", "localjuju.cli", "-m", model.name, "deploy", "postgresql", "-n", "3"]
    # a background job of a shell starts with SIGINT ignored, and so would localjuju
    deploy = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert wait_for(lambda: pg_clusters.model_clusters(model.name), timeout=120, interval=0.05)
    finally:
        deploy.send_signal(signal.SIGINT)  # Ctrl-C, while the units' clusters are made
        _, errors = deploy.communicate(timeout=120)
    assert deploy.returncode == 130, errors
    assert leftovers.find(model.name) == []
