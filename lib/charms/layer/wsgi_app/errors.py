"""The errors of deploying, each a status message: what the operator can fix
(:class:`DeployError`) and what may pass by itself and is retried on update-status
(:class:`RetryableError`)."""

from __future__ import annotations


class DeployError(RuntimeError):
    """A deploy step failed for a reason the operator can fix; ``str()`` is the status."""


class RetryableError(DeployError):
    """A failure that may pass by itself; update-status tries again."""


class FetchError(RetryableError):
    """The repository could not be reached."""


class MachineFault(RetryableError):
    """The machine could not hold the new release (disk full, I/O error)."""


class NameTaken(DeployError):
    """The application's name is a user, directory or unit of the machine's own."""


class WaitingForLeader(RetryableError):
    """The new release needs release_command, which only the leader runs: this unit
    switches once the leader has published the release as done (leader settings)."""


class WaitingForRollout(WaitingForLeader):
    """With ``rollout=rolling``, the unit's turn to switch to the new release has not come
    (see :mod:`.rollout`); ``str()`` says where the rollout stands."""


class ReleaseUnhealthy(DeployError):
    """A new release failed its health check; the serving one was kept."""

    def __init__(self, message: str, spec: str, version: str):
        super().__init__(message)
        self.spec = spec
        self.version = version
