"""The charm's desired state: one typed, immutable value built from config, leader and
relation data, and the machine's size. Everything downstream renders from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .asgi import choose
from .config import AppConfig, parse_config
from .integrations import Integrations
from .juju_secrets import SecretError
from .paths import Paths
from .rollout import Peers
from .secret_options import Reader, resolve
from .workers import effective_threads, effective_workers, worker_connections

# in leader settings, on a Juju without secrets (2.9) and before the upgrade to secrets:
# SECRET_KEY itself (the leader moves it into the secret, see .secret_key)
SECRET_KEY_FIELD = "secret_key"
# in leader settings: the application secret that holds SECRET_KEY, and its revision the
# leader announces (a new one: every unit reads it again; see .secret_key)
SECRET_KEY_URI_FIELD = "secret_key_uri"
SECRET_KEY_REVISION_FIELD = "secret_key_revision"
# in leader settings: the spec of the release whose release_command the leader ran; the
# other units switch to a release only once it is this one
RELEASED_FIELD = "released_spec"
# in leader settings: "<source id>:<commit>", the commit the leader resolved app_ref to;
# every unit deploys exactly that commit of that source (see build.agreed_revision)
SOURCE_FIELD = "source_commit"
# in leader settings: the unit that leads. A new leader writes it so that every other unit
# runs leader-settings-changed, and the one that led stops what runs on the leader only: the
# leader-only process types (see .processes) and the scheduled jobs' timers (see .timers)
LEADER_UNIT_FIELD = "leader_unit"


@dataclass(frozen=True)
class Machine:
    """What the charm needs to know of the machine it runs on."""

    cores: int
    memory_bytes: int
    addresses: tuple[str, ...] = ()  # its own IP addresses (see .addresses), for ALLOWED_HOSTS
    systemd: int = 0  # systemd's version (0: not known), for the directives the units may use


@dataclass(frozen=True)
class WsgiState:
    """Everything that decides what the unit runs and with which settings."""

    app_name: str
    config: AppConfig
    machine: Machine
    secret_key: str | None  # None until the leader has published one
    integrations: Integrations = field(default_factory=Integrations)
    unit_name: str = ""  # wsgi-app/0: APP_UNIT, the journal identifier, the metrics' label
    released: str = ""  # RELEASED_FIELD: the release the leader serves (its command ran)
    agreed_source: str = ""  # SOURCE_FIELD: the commit the leader resolved app_ref to
    release_worker_class: str = ""  # the serving release's (release.json); "" when not known
    leader: bool = False  # whether this unit leads: leader_processes run on the leader only
    peers: Peers = field(default_factory=Peers)  # the peers' rollout reports (rollout=rolling only)
    # the settings environment_secret's secret gives (every one of them is secret)
    secret_settings: Mapping[str, str] = field(default_factory=dict)

    @property
    def paths(self) -> Paths:
        return Paths.for_app(self.app_name)

    @property
    def workers(self) -> int:
        return effective_workers(self.config.workers, self.machine.cores, self.machine.memory_bytes)

    @property
    def worker_class(self) -> str:
        """The worker class gunicorn runs: the one the serving release was checked with,
        else the configured one (``auto`` without a release: gthread)."""
        return self.release_worker_class or choose(self.config.worker_class, asgi=False)

    @property
    def threads(self) -> int:
        return effective_threads(self.config.threads, self.worker_class)

    @property
    def worker_connections(self) -> int:
        return worker_connections(self.threads, self.worker_class)


def machine_facts() -> Machine:
    """This machine's CPU count and memory, as the worker count needs them, its own
    addresses, as the application's allowed hosts need them, and systemd's version, as
    the process types' restart delay does."""
    import os

    from .addresses import machine_addresses

    memory = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    memory = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return Machine(cores=cores, memory_bytes=memory, addresses=machine_addresses(), systemd=systemd_version())


def systemd_version() -> int:
    """The major version of the machine's systemd (``systemd 252 (252.39-1~deb12u2)``), 0
    when ``systemctl`` does not say."""
    import subprocess

    try:
        result = subprocess.run(["systemctl", "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return 0
    words = result.stdout.split()
    return int(words[1]) if len(words) > 1 and words[0] == "systemd" and words[1].isdigit() else 0


def build_state(
    app_name: str,
    raw_config: Mapping[str, Any],
    leader_data: Mapping[str, str],
    machine: Machine,
    integrations: Integrations | None = None,
    unit_name: str = "",
    leader: bool = False,
    secret_key: str | None = None,
    read_secret: Reader | None = None,
) -> WsgiState:
    """The desired state from raw hook inputs: ``secret_key`` as read from its secret (else
    the leader settings' own), the user secrets the config names through ``read_secret``.
    Raises :class:`~.config.ConfigError`."""
    config, secret_settings = resolve(parse_config(raw_config), read_secret or _unread)
    return WsgiState(
        app_name=app_name,
        config=config,
        machine=machine,
        secret_key=secret_key or leader_data.get(SECRET_KEY_FIELD) or None,
        integrations=integrations or Integrations(),
        unit_name=unit_name,
        released=leader_data.get(RELEASED_FIELD, ""),
        agreed_source=leader_data.get(SOURCE_FIELD, ""),
        leader=leader,
        secret_settings=secret_settings,
    )


def _unread(uri: str) -> Mapping[str, str]:
    raise SecretError("not read")
