"""systemd sandboxing for the gunicorn service: what the application may touch.

The application runs as its own unprivileged user and may write only to its data
directory and its runtime directory (gunicorn's worker heartbeat files). The deploy key
and the git mirror are hidden from it; everything else is read-only or hidden, which is
what `systemd-analyze security` scores.
"""

from __future__ import annotations

from pathlib import Path

from .paths import Paths


def sandbox_directives(paths: Paths, writable: tuple[Path, ...] | None = None) -> list[str]:
    """``[Service]`` lines confining the application to ``writable`` (its data directory
    unless told otherwise: build steps write their own scratch directories)."""
    return [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        f"ReadWritePaths={' '.join(str(p) for p in (writable or (paths.data,)))}",
        # the deploy key and the git mirror are the charm's, for fetching: not the app's
        f"InaccessiblePaths=-{paths.ssh_dir} -{paths.mirror}",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "DevicePolicy=closed",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "ProtectClock=yes",
        "ProtectHostname=yes",
        "ProtectProc=invisible",
        "ProcSubset=pid",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "RestrictNamespaces=yes",
        "RestrictRealtime=yes",
        "RestrictSUIDSGID=yes",
        "LockPersonality=yes",
        "RemoveIPC=yes",
        "KeyringMode=private",
        "SystemCallArchitectures=native",
        "SystemCallFilter=@system-service",
        "SystemCallFilter=~@privileged @resources",
        "SystemCallErrorNumber=EPERM",
        "CapabilityBoundingSet=",
        "AmbientCapabilities=",
    ]
