"""The pure parts of isolated models: namespace and interface names, addresses, which
namespaces belong to a model, the offline wheelhouse's index and requirements (no root)."""

from __future__ import annotations

from pathlib import Path

import pytest

from localjuju import deploying, machines, network


def test_names_and_addresses_of_a_machine() -> None:
    wire = network.attachment("units-42", 3)
    assert wire.netns == "lj-units-42-3"
    assert wire.address == "10.231.0.13"
    assert wire.cidr == "10.231.0.0/24"
    assert network.switch_netns("units-42") == "lj-units-42-sw"
    assert network.address(0) == "10.231.0.10"
    assert network.servers_netns("units-42") == "lj-units-42-srv"
    assert network.servers_address() == "10.231.0.2"  # below every machine's address


@pytest.mark.parametrize("number", [0, 9, 99, 244])
def test_interface_names_fit_the_kernel_limit(number: int) -> None:
    wire = network.attachment("a-very-long-model-name-that-goes-on-and-on", number)
    for name in (wire.port, network.BRIDGE, network.INTERFACE):
        assert 0 < len(name) <= network.IFNAMSIZ, name


def test_the_subnet_has_room_for_245_machines() -> None:
    assert network.address(244) == "10.231.0.254"
    with pytest.raises(network.NetworkError):
        network.address(245)


def test_a_model_owns_only_its_own_namespaces() -> None:
    assert network.owned_by("units-a", "lj-units-a-sw")
    assert network.owned_by("units-a", "lj-units-a-12")
    assert network.owned_by("units-a", network.servers_netns("units-a"))
    # a model whose name starts the same is another model
    assert not network.owned_by("units-a", "lj-units-a-b-sw")
    assert not network.owned_by("units-a", "lj-units-a-1-0")
    assert not network.owned_by("units-a", "lj-units-ab-0")
    assert not network.owned_by("units-a", "units-a-0")


def test_teardown_deletes_only_the_models_namespaces(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("lj-m-sw", "lj-m-0", "lj-m-1", "lj-m-x-sw", "other"):
        (tmp_path / name).touch()
    deleted: list[str] = []
    monkeypatch.setattr(network, "NETNS_DIR", tmp_path)
    monkeypatch.setattr(network, "_ip", lambda *args, check=True: deleted.append(args[-1]))
    network.teardown("m")
    assert sorted(deleted) == ["lj-m-0", "lj-m-1", "lj-m-sw"]


@pytest.mark.parametrize(
    ("wheel", "project"),
    [
        ("psycopg2_binary-2.9.10-cp311-cp311-manylinux_2_17_x86_64.whl", "psycopg2-binary"),
        ("gunicorn-23.0.0-py3-none-any.whl", "gunicorn"),
        ("Jinja2-2.11.3-py2.py3-none-any.whl", "jinja2"),
        ("zope.interface-7.0-cp311-cp311-manylinux_2_17_x86_64.whl", "zope-interface"),
    ],
)
def test_project_names_of_wheels(wheel: str, project: str) -> None:
    assert machines.project_name(wheel) == project


def test_simple_index_links_every_wheel(tmp_path: Path) -> None:
    wheels = ["gunicorn-23.0.0-py3-none-any.whl", "Typing_Extensions-4.12.2-py3-none-any.whl"]
    machines.write_index(tmp_path, wheels)
    root = (tmp_path / "simple" / "index.html").read_text()
    assert 'href="gunicorn/"' in root and 'href="typing-extensions/"' in root
    page = (tmp_path / "simple" / "typing-extensions" / "index.html").read_text()
    assert 'href="../../Typing_Extensions-4.12.2-py3-none-any.whl"' in page


def test_offline_pip_environment_points_at_the_share() -> None:
    env = machines.offline_pip_env()
    assert env["PIP_FIND_LINKS"] == "/var/lib/localjuju/wheels"
    assert env["PIP_NO_INDEX"] == "1"
    assert env["PIP_INDEX_URL"] == "file:///var/lib/localjuju/wheels/simple"


def test_wheel_requirements_are_the_given_ones_then_the_files_lines(tmp_path: Path) -> None:
    mine = tmp_path / "requirements.txt"
    mine.write_text("# clients\nrequests>=2  # http\n\nrich\n")
    expected = ["gunicorn>=23", "requests>=2", "rich"]
    assert deploying.wheel_requirements([mine], ["gunicorn>=23", " "]) == expected
    assert deploying.wheel_requirements([], []) == []


def test_no_requirements_make_an_empty_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machines, "_pip_download", lambda *_, **__: pytest.fail("pip ran"))
    monkeypatch.setenv("LOCALJUJU_CACHE", str(tmp_path / "cache"))
    assert machines.wheelhouse([], tmp_path / "wheels") == []
    assert (tmp_path / "wheels" / "simple" / "index.html").is_file()
