"""Where the charm keeps an application's files on the machine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    """The file layout of one application, all derived from its Juju application name.

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
        return cls(name=name, root=root / name, etc=etc / name, systemd=systemd)

    # service and user share the application's name
    @property
    def user(self) -> str:
        return self.name

    @property
    def service(self) -> str:
        return f"{self.name}.service"

    @property
    def socket(self) -> str:
        return f"{self.name}.socket"

    @property
    def metrics_service(self) -> str:
        """The metrics exporter's unit (config metrics_port)."""
        return f"{self.name}-metrics.service"

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
    def mirror(self) -> Path:
        return self.root / "repo.git"

    @property
    def cache(self) -> Path:
        return self.root / ".cache"

    @property
    def settings_file(self) -> Path:
        return self.etc / "settings.env"

    @property
    def gunicorn_conf(self) -> Path:
        return self.etc / "gunicorn.conf.py"

    @property
    def service_file(self) -> Path:
        return self.systemd / self.service

    @property
    def socket_file(self) -> Path:
        return self.systemd / self.socket

    @property
    def metrics_service_file(self) -> Path:
        return self.systemd / self.metrics_service

    @property
    def sqlite_database(self) -> Path:
        return self.data / "db.sqlite3"
