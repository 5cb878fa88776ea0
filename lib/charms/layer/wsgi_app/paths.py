"""Where the charm keeps an application's files on the machine."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# Juju's application names: what every path, user and unit name here is made of, so none
# of them holds a space, a quote, a '%' or a '/' (the unit templates rely on it)
APP_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]*[a-z][a-z0-9]*)*")


@dataclass(frozen=True)
class Paths:
    """The file layout of one application, all derived from its Juju application name.

    Root owns the tree; the application user owns only ``data``, ``.cache`` and the git
    mirror (see :mod:`.ownership`).

    ``root/current`` is a symlink to one of ``root/releases/<id>``; each release holds
    ``app/`` (the code), ``venv`` (a symlink into ``root/venvs``) and ``release.json``.
    Switching ``current`` therefore switches code, virtualenv and entry point at once.
    """

    name: str
    root: Path
    etc: Path
    systemd: Path

    @classmethod
    def for_app(
        cls,
        name: str,
        root: Path = Path("/srv"),
        etc: Path = Path("/etc"),
        systemd: Path = Path("/etc/systemd/system"),
    ) -> Paths:
        if not APP_NAME.fullmatch(name):
            raise ValueError(f"not a Juju application name: {name!r}")
        return cls(name=name, root=root / name, etc=etc / name, systemd=systemd)

    # service and user share the application's name
    @property
    def user(self) -> str:
        return self.name

    @property
    def service_template(self) -> str:
        """The gunicorn service, one instance per slot (see :mod:`.service`)."""
        return f"{self.name}@.service"

    def slot_service(self, slot: str) -> str:
        return f"{self.name}@{slot}.service"

    @property
    def check_socket_template(self) -> str:
        """Each slot's private health-check socket."""
        return f"{self.name}-check@.socket"

    def check_socket(self, slot: str) -> Path:
        return self.check_dir / f"{slot}.sock"

    @property
    def check_dir(self) -> Path:
        return Path("/run") / f"{self.name}-check"

    def process_template(self, process: str) -> str:
        """A Procfile process type's service, one instance per number (see :mod:`.processes`)."""
        return f"{self.name}-{process}@.service"

    def process_service(self, process: str, instance: str) -> str:
        return f"{self.name}-{process}@{instance}.service"

    def process_file(self, process: str) -> Path:
        return self.systemd / self.process_template(process)

    @property
    def legacy_service(self) -> str:
        """The single service unit charm versions before slots installed."""
        return f"{self.name}.service"

    @property
    def socket(self) -> str:
        return f"{self.name}.socket"

    @property
    def metrics_service(self) -> str:
        """The metrics exporter's unit (config metrics_port)."""
        return f"{self.name}-metrics.service"

    def job_service(self, key: str) -> str:
        """A scheduled job's oneshot service (see :mod:`.schedules`); also its journal identifier."""
        return f"{self.name}-cron-{key}.service"

    def job_timer(self, key: str) -> str:
        """The timer starting :meth:`job_service` on the leader."""
        return f"{self.name}-cron-{key}.timer"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def current(self) -> Path:
        return self.root / "current"

    @property
    def venvs(self) -> Path:
        return self.root / "venvs"

    @property
    def builds(self) -> Path:
        """``build/<release>``: a copy of a release the app user's pip may build in."""
        return self.root / "build"

    @property
    def tools(self) -> Path:
        """``tools/<installer>-<pins digest>``: root's uv and Poetry (see :mod:`.build_tools`)."""
        return self.root / "tools"

    @property
    def mirror(self) -> Path:
        return self.root / "repo.git"

    @property
    def ssh_dir(self) -> Path:
        """The app user's ``~/.ssh`` (root-owned): the deploy key and pinned host keys
        (see :mod:`.git_ssh`)."""
        return self.root / ".ssh"

    @property
    def cache(self) -> Path:
        return self.root / ".cache"

    @property
    def settings_file(self) -> Path:
        return self.etc / "settings.env"

    @property
    def maintenance_page(self) -> Path:
        """Present while the site is in maintenance: the page every request gets (see
        :mod:`.maintenance`); root's, in a directory only root writes."""
        return self.etc / "maintenance.html"

    @property
    def gunicorn_conf(self) -> Path:
        return self.etc / "gunicorn.conf.py"

    @property
    def slots(self) -> Path:
        """``slots/<slot>``: root-owned symlinks to the release each slot runs."""
        return self.etc / "slots"

    @property
    def service_file(self) -> Path:
        return self.systemd / self.service_template

    @property
    def check_socket_file(self) -> Path:
        return self.systemd / self.check_socket_template

    @property
    def legacy_service_file(self) -> Path:
        return self.systemd / self.legacy_service

    @property
    def socket_file(self) -> Path:
        return self.systemd / self.socket

    @property
    def metrics_service_file(self) -> Path:
        return self.systemd / self.metrics_service

    @property
    def sqlite_database(self) -> Path:
        return self.data / "db.sqlite3"
