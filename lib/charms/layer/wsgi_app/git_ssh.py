"""SSH for git: the deploy key and pinned host keys a private ``app_repo`` is cloned with.

The key lives in the application user's ``~/.ssh`` (0700), as a 0600 file that user
owns, because ssh refuses keys others can read; host keys are always checked strictly
against ``known_hosts`` from the config, never learnt on first use.
"""

from __future__ import annotations

import os
import pwd
import shlex
from pathlib import Path

from . import system
from .commands import RunAs
from .config import AppConfig
from .validate import is_ssh_url
from .writes import write_atomically

SSH_PACKAGES = ("openssh-client",)


def ssh_dir(run_as: RunAs) -> Path:
    return run_as.home / ".ssh"


def git_ssh_environment(config: AppConfig, run_as: RunAs) -> dict[str, str]:
    """Write (or remove) the key files; the ``GIT_SSH_COMMAND`` git must use."""
    directory = ssh_dir(run_as)
    key_file, hosts_file = directory / "deploy_key", directory / "known_hosts"
    if not is_ssh_url(config.app_repo):
        key_file.unlink(missing_ok=True)
        return {}
    system.install_packages(SSH_PACKAGES)
    uid, gid = pwd.getpwnam(run_as.user).pw_uid, pwd.getpwnam(run_as.user).pw_gid
    directory.mkdir(mode=0o700, exist_ok=True)
    os.chown(directory, uid, gid)
    directory.chmod(0o700)
    command = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"]
    if config.known_hosts:
        write_atomically(hosts_file, config.known_hosts, 0o644, uid=uid, gid=gid)
        command += ["-o", f"UserKnownHostsFile={hosts_file}", "-o", "GlobalKnownHostsFile=/dev/null"]
    if config.deploy_key:
        write_atomically(key_file, config.deploy_key, 0o600, uid=uid, gid=gid)
        command += ["-i", str(key_file), "-o", "IdentitiesOnly=yes"]
    else:
        key_file.unlink(missing_ok=True)
    return {"GIT_SSH_COMMAND": shlex.join(command)}
