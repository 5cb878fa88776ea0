"""Debian machines for a local model: a cached debootstrap image, booted with
``systemd-nspawn --boot`` on an overlay of that image, entered with ``nsenter``.

An image is built once per base (:mod:`localjuju.bases`: its Debian suite, debootstrap
``--variant=minbase``) and reused; each machine gets its own writable upper layer, so a
reboot keeps its files and ``destroy`` removes them. A machine shares the host's network
namespace by default; with ``netns`` set it boots in that namespace (see
:mod:`localjuju.network`).

An isolated machine cannot reach a package index, so :func:`wheelhouse` fills its share
directory with the wheels its charm will pip-install, as an air-gapped Juju deployment
would, for its base's Python; downloads are cached on the host, so a second run needs
no network.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import procs
from .bases import DEFAULT, Base
from .progress import step

MIRROR = os.environ.get("LOCALJUJU_MIRROR", "http://deb.debian.org/debian")
IMAGE_PACKAGES = {
    # what every machine has, as a Juju machine would (systemd, python3, git)
    "base": (
        "systemd",
        "systemd-sysv",
        "dbus",
        "python3",
        "python3-venv",
        "git",
        "ca-certificates",
        "iproute2",
        "procps",
        "python3-yaml",
    ),
}
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BOOT_TIMEOUT = 60
SHARE = "/var/lib/localjuju"  # a machine's share directory, as the machine sees it


class MachineError(RuntimeError):
    pass


def cache_dir() -> Path:
    return Path(os.environ.get("LOCALJUJU_CACHE", "/var/cache/localjuju"))


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def image_key(name: str, base: Base) -> str:
    """The cache name of image ``name`` of ``base``: the suite is part of it (``base-trixie``),
    so one suite's image is never booted as another's; the default base's images keep the
    names they had before there were bases (``base``), so their cache stays valid."""
    return name if base == DEFAULT else f"{name}-{base.suite}"


def image(name: str = "base", extra: Sequence[str] = (), base: Base = DEFAULT) -> Path:
    """The root filesystem ``name`` of ``base``, built with debootstrap unless it is cached."""
    key = image_key(name, base)
    root = cache_dir() / "images" / key
    packages = (*IMAGE_PACKAGES.get("base", ()), *extra)
    with locked(cache_dir() / "images" / f".{key}.lock"):
        if (root / ".localjuju-image").exists():
            return root
        building = root.with_name(f".{key}.building")
        shutil.rmtree(building, ignore_errors=True)
        with step(f"building the {name} image with debootstrap ({base.suite}, once; cached in {root})"):
            subprocess.run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={','.join(packages)}",
                    base.suite,
                    str(building),
                    MIRROR,
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        # machines trust what the host trusts (package registries behind a TLS proxy)
        if HOST_CA_BUNDLE.exists():
            shutil.copy(HOST_CA_BUNDLE, building / "etc/ssl/certs/ca-certificates.crt")
            (building / "etc/pip.conf").write_text("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
        (building / "etc/hostname").write_text(f"localjuju-{key}\n")
        (building / "etc/machine-id").write_text("")  # a fresh id on each boot
        (building / ".localjuju-image").write_text(" ".join(packages) + "\n")
        if root.exists():
            shutil.rmtree(root)
        building.rename(root)
    return root


@dataclass
class Machine:
    """One booted machine: an overlay of an image under ``directory``."""

    name: str
    directory: Path
    image: Path
    netns: str = ""  # "" = the host's network namespace

    @property
    def root(self) -> Path:
        return self.directory / "root"

    @property
    def pid_file(self) -> Path:
        return self.directory / "nspawn.pid"

    @property
    def log_file(self) -> Path:
        return self.directory / "console.log"

    # -- lifecycle ------------------------------------------------------------------
    def mount(self) -> None:
        for sub in ("upper", "work", "root"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        if not os.path.ismount(self.root):
            options = (
                f"lowerdir={self.image},upperdir={self.directory / 'upper'},workdir={self.directory / 'work'}"
            )
            subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(self.root)], check=True)
        hostname = self.root / "etc/hostname"  # each machine its own, as Juju's machines have
        if not hostname.exists() or hostname.read_text().strip() != self.name:
            hostname.write_text(f"{self.name}\n")

    def boot(self) -> None:
        """Start systemd in the machine and wait until it is running."""
        if self.running():
            return
        self.mount()
        command = [
            "systemd-nspawn",
            "--quiet",
            "-D",
            str(self.root),
            "--boot",
            "--register=no",
            "--keep-unit",
            "-M",
            self.name,
            "--resolv-conf=copy-host",
            "--timezone=off",
            "--link-journal=no",
            "--bind",
            f"{self.directory / 'share'}:/var/lib/localjuju",
        ]
        (self.directory / "share").mkdir(exist_ok=True)
        if self.netns:
            command.append(f"--network-namespace-path=/run/netns/{self.netns}")
        with open(self.log_file, "ab") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                env={"PATH": os.environ["PATH"], "SYSTEMD_LOG_LEVEL": "warning"},
            )
        self.pid_file.write_text(str(process.pid))
        self._wait_running(process)

    def _wait_running(self, process: subprocess.Popen[bytes] | None = None) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT
        state = ""
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise MachineError(f"{self.name} exited while booting; see {self.log_file}")
            if self.init_pid():
                result = self.run(["systemctl", "is-system-running"], check=False, capture=True)
                state = result.stdout.strip()
                if state in ("running", "degraded"):
                    return
            time.sleep(0.3)
        raise MachineError(f"{self.name} did not finish booting in {BOOT_TIMEOUT}s (state {state!r})")

    def nspawn_pid(self) -> int:
        try:
            pid = int(self.pid_file.read_text())
        except (OSError, ValueError):
            return 0
        return pid if Path(f"/proc/{pid}").exists() and _comm(pid) == "systemd-nspawn" else 0

    def init_pid(self) -> int:
        """The machine's PID 1, as the host sees it."""
        parent = self.nspawn_pid()
        if not parent:
            return 0
        for task in Path(f"/proc/{parent}/task").iterdir():
            for child in (task / "children").read_text().split():
                if _comm(int(child)) == "systemd":
                    return int(child)
        return 0

    def running(self) -> bool:
        return bool(self.init_pid())

    def run(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        check: bool = True,
        capture: bool = False,
        input: bytes | None = None,
        timeout: float | None = None,
        cwd: str = "/",
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the machine (all its namespaces), as root."""
        pid = self.init_pid()
        if not pid:
            raise MachineError(f"{self.name} is not running")
        base = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "HOME": "/root",
        }
        environment = [f"{k}={v}" for k, v in {**base, **(env or {})}.items()]
        command = [
            "nsenter",
            "-t",
            str(pid),
            "-a",
            "env",
            "-i",
            *environment,
            "sh",
            "-c",
            'cd "$0" && exec "$@"',
            cwd,
            *argv,
        ]
        return subprocess.run(
            command,
            check=check,
            text=True,
            timeout=timeout,
            input=input.decode() if input is not None else None,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.STDOUT if capture else None,
        )

    def poweroff(self, timeout: float = 60) -> None:
        """Shut the machine down cleanly (falls back to killing it)."""
        pid = self.nspawn_pid()
        if not pid:
            return
        with contextlib.suppress(subprocess.SubprocessError, MachineError):
            self.run(["systemctl", "poweroff", "--no-block"], check=False, timeout=10)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.nspawn_pid():
            time.sleep(0.2)
        if self.nspawn_pid():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            time.sleep(0.5)

    def kill(self, timeout: float = 30) -> None:
        """Pull the plug: SIGKILL the machine's PID 1, which takes every process of the
        machine with it (no shutdown, no stop hooks). Its files stay."""
        init = self.init_pid()
        if init:
            with contextlib.suppress(ProcessLookupError):
                os.kill(init, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.nspawn_pid():
            time.sleep(0.1)
        pid = self.nspawn_pid()
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)

    def reboot(self) -> None:
        """Power off and boot again: the machine keeps its files, processes start afresh."""
        self.poweroff()
        self.boot()

    def destroy(self) -> None:
        """Stop the machine, unmount and remove its files; leaves nothing behind."""
        self.poweroff(timeout=30)
        for _ in range(10):
            if not os.path.ismount(self.root):
                break
            result = subprocess.run(["umount", str(self.root)], check=False, capture_output=True)
            if result.returncode != 0:
                time.sleep(0.5)
        if os.path.ismount(self.root):
            subprocess.run(["umount", "-l", str(self.root)], check=False)
        shutil.rmtree(self.directory, ignore_errors=True)


def mount_points(mountinfo: str) -> list[str]:
    """The mount points in a ``/proc/<pid>/mountinfo`` text (octal escapes decoded)."""
    points = []
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) > 4:
            points.append(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4]))
    return points


def mounts_under(directory: Path) -> list[str]:
    """What is mounted in ``directory`` on the host, deepest first."""
    prefix = f"{str(directory).rstrip('/')}/"
    points = mount_points(Path("/proc/self/mountinfo").read_text())
    return sorted({p for p in points if p.startswith(prefix)}, key=len, reverse=True)


def sweep(directory: Path) -> None:
    """Stop the machines booted from ``directory`` and unmount what is mounted in it, for
    machines a model no longer records: their processes are killed, not shut down."""
    found = procs.under(directory)
    procs.terminate((p.pid for p in found if p.root != "/"), timeout=0)  # in a machine: killed
    procs.terminate(p.pid for p in found if Path(p.argv[0]).name == "systemd-nspawn")
    for point in mounts_under(directory):
        if subprocess.run(["umount", point], check=False, capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", point], check=False, capture_output=True)


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


# -- wheelhouses --------------------------------------------------------------------------


def wheelhouse(requirements: Sequence[str], dest: Path, base: Base = DEFAULT) -> list[str]:
    """Fill ``dest`` with wheels for ``requirements`` (requirement lines) and their
    dependencies, for the Python and glibc of ``base``'s machines; return the file names.

    Resolved offline from the host cache (``<cache>/wheels``) when it holds them; what it
    lacks is downloaded into it first. ``dest`` also gets a PEP 503 index in ``simple/``.
    """
    cache = cache_dir() / "wheels"
    dest.mkdir(parents=True, exist_ok=True)
    if not requirements:  # an empty index: pip fails at once instead of reaching out
        return _indexed(dest, [])
    with tempfile.TemporaryDirectory(prefix="localjuju-wheels-") as temporary:
        listing = Path(temporary) / "requirements.txt"
        listing.write_text("".join(f"{line}\n" for line in requirements))
        with locked(cache / ".lock"):
            offline = ["--no-index", "--find-links", str(cache)]
            if _pip_download(listing, dest, base, offline).returncode != 0:
                with step(f"downloading wheels for Python {base.python} (once; cached in {cache})"):
                    _pip_download(listing, cache, base, [], check=True)
                _pip_download(listing, dest, base, offline, check=True)
    return _indexed(dest, sorted(p.name for p in dest.glob("*.whl")))


def _indexed(dest: Path, names: list[str]) -> list[str]:
    """``names``, once ``dest`` has their index and pip (as any user) can read them."""
    write_index(dest, names)
    for path in (dest, *dest.rglob("*")):  # pip runs as the application's user
        path.chmod(0o755 if path.is_dir() else 0o644)
    return names


def _pip_download(
    listing: Path, dest: Path, base: Base, options: Sequence[str], check: bool = False
) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "--python-version",
        base.python,
        "--implementation",
        "cp",
        "--abi",
        base.abi,
        *(f"--platform={platform}" for platform in base.platforms()),
        "--dest",
        str(dest),
        *options,
        "-r",
        str(listing),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise MachineError(f"pip download failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result


def project_name(wheel: str) -> str:
    """The normalised project name (PEP 503) of a wheel file name."""
    return re.sub(r"[-_.]+", "-", wheel.split("-", 1)[0]).lower()


def write_index(directory: Path, wheels: Sequence[str]) -> None:
    """A PEP 503 simple index of ``wheels`` (files in ``directory``) under ``directory/simple``."""
    simple = directory / "simple"
    shutil.rmtree(simple, ignore_errors=True)
    projects: dict[str, list[str]] = {}
    for wheel in wheels:
        projects.setdefault(project_name(wheel), []).append(wheel)
    for project, files in projects.items():
        (simple / project).mkdir(parents=True)
        (simple / project / "index.html").write_text(_page({f"../../{name}": name for name in sorted(files)}))
    simple.mkdir(parents=True, exist_ok=True)
    (simple / "index.html").write_text(_page({f"{project}/": project for project in sorted(projects)}))


def _page(links: dict[str, str]) -> str:
    anchors = "".join(f'<a href="{href}">{text}</a>\n' for href, text in links.items())
    return f"<!DOCTYPE html>\n<html><body>\n{anchors}</body></html>\n"


def offline_pip_env(wheels: str = f"{SHARE}/wheels") -> dict[str, str]:
    """Hook environment that keeps pip on a machine's wheelhouse (``PIP_INDEX_URL`` too, for
    charms that pass ``PIP_FIND_LINKS`` and ``PIP_INDEX_URL`` on but not ``PIP_NO_INDEX``)."""
    return {"PIP_FIND_LINKS": wheels, "PIP_NO_INDEX": "1", "PIP_INDEX_URL": f"file://{wheels}/simple"}
