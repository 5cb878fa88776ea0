"""SSH for git: the deploy key and pinned host keys a private ``app_repo`` is cloned with.

The key lives in the application user's ``~/.ssh``, which root owns (``root:<app>``, 0750)
so that the user cannot swap it for a link to somewhere root would then write; the key
is ``root:<app>`` 0640 (ssh checks the modes only of keys its user owns). Host keys are
always checked strictly against ``known_hosts`` from the config, never learnt on first use.
"""

from __future__ import annotations

import grp
import os
import shlex

from . import ownership, system
from .config import AppConfig
from .paths import Paths
from .validate import is_ssh_url
from .writes import write_atomically

SSH_PACKAGES = ("openssh-client",)


def git_ssh_environment(config: AppConfig, paths: Paths) -> dict[str, str]:
    """Write (or remove) the key files; the ``GIT_SSH_COMMAND`` git must use."""
    directory = paths.ssh_dir
    key_file, hosts_file = directory / "deploy_key", directory / "known_hosts"
    if not is_ssh_url(config.app_repo):
        if os.path.isdir(directory) and not os.path.islink(directory):
            key_file.unlink(missing_ok=True)
        return {}
    system.install_packages(SSH_PACKAGES)
    gid = grp.getgrnam(paths.user).gr_gid
    ownership.ensure_dir(directory, 0, gid, ownership.ROOT_MODE)
    command = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"]
    if config.known_hosts:
        write_atomically(hosts_file, config.known_hosts, 0o644, uid=0, gid=gid)
        command += ["-o", f"UserKnownHostsFile={hosts_file}", "-o", "GlobalKnownHostsFile=/dev/null"]
    if config.deploy_key:
        write_atomically(key_file, config.deploy_key, 0o640, uid=0, gid=gid)
        command += ["-i", str(key_file), "-o", "IdentitiesOnly=yes"]
    else:
        key_file.unlink(missing_ok=True)
    return {"GIT_SSH_COMMAND": shlex.join(command)}
