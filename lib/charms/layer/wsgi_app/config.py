"""Reading the charm config into a typed, validated :class:`AppConfig` (declared in :mod:`.options`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import validate
from .options import OPTIONS, AppConfig

__all__ = ["AppConfig", "ConfigError", "parse_config"]


class ConfigError(ValueError):
    """One or more config options hold values the charm cannot use."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{option}: {message}" for option, message in problems))

    @property
    def summary(self) -> str:
        """The first problem, for a status line; the log gets all of them."""
        option, message = self.problems[0]
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"invalid config {option}: {message}{more}"


def parse_config(raw: Mapping[str, Any]) -> AppConfig:
    """Validate every option of ``raw`` (as ``config-get`` returns it).

    Missing or ``null`` values take their declared default. Raises :class:`ConfigError`
    listing every invalid option.
    """
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for option in OPTIONS:
        value = raw.get(option.name)
        try:
            values[option.name] = option.parse(option.default if value is None else value)
        except ValueError as error:
            problems.append((option.name, str(error)))
    if not problems:
        problems.extend(_combination_problems(values))
    if problems:
        raise ConfigError(problems)
    return AppConfig(**values)


def _combination_problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Options that are each valid but do not work together."""
    if values["deploy_key"] and not validate.is_ssh_url(values["app_repo"]):
        return [("deploy_key", "is set but app_repo is not an ssh URL (ssh://... or user@host:path)")]
    if values["deploy_key"] and not values["known_hosts"]:
        return [("known_hosts", "is required with deploy_key: the git server's host key must be pinned")]
    if values["metrics_port"] and values["metrics_port"] == values["port"]:
        return [("metrics_port", f"must differ from port ({values['port']})")]
    return []
