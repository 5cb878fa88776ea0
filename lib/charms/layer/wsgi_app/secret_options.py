"""The options that name a user secret (``environment_secret``, ``deploy_key=secret:...``):
what the secret's content becomes (pure; :mod:`.unit` reads the content).

A Juju secret's keys are lowercase words joined by hyphens (``stripe-api-key``); each key
of ``environment_secret`` becomes the setting of the same words upper-cased and joined by
underscores (``STRIPE_API_KEY``). The charm's own settings are refused, as in
``environment``. ``deploy_key``'s secret holds the SSH private key under ``private-key``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace

from . import validate
from .config import AppConfig, ConfigError
from .juju_secrets import SecretError

# Juju's secret keys: a lowercase letter, then letters, digits and single hyphens (3+ chars)
SECRET_KEY_NAME = re.compile(r"[a-z](?:-?[a-z0-9]){2,}\Z")
DEPLOY_KEY_FIELD = "private-key"
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

Reader = Callable[[str], Mapping[str, str]]  # the content of a secret URI; raises SecretError


def setting_name(key: str) -> str:
    """``stripe-api-key`` -> ``STRIPE_API_KEY``; ValueError for a key Juju would not make."""
    if not SECRET_KEY_NAME.match(key):
        raise ValueError(f"key {key[:40]!r} is not a Juju secret key (lowercase words joined by '-')")
    return key.replace("-", "_").upper()


def settings_of(content: Mapping[str, str]) -> dict[str, str]:
    """The settings a secret's ``content`` gives the app; ValueError naming the bad key
    (never a value)."""
    settings: dict[str, str] = {}
    for key, value in sorted(content.items()):
        name = setting_name(key)
        if name in validate.RESERVED_SETTINGS:
            raise ValueError(f"key {key} would set {name}, which the charm sets")
        value = value.removesuffix("\n").removesuffix("\r")  # as a file (key#file=) ends
        if _CONTROL.search(value):
            raise ValueError(f"the value of {key} is not one line")
        settings[name] = value
    return settings


def deploy_key_of(content: Mapping[str, str]) -> str:
    """The SSH private key a secret's ``content`` holds; ValueError if it holds none."""
    if DEPLOY_KEY_FIELD not in content:
        raise ValueError(f"the secret has no {DEPLOY_KEY_FIELD} key")
    return validate.ssh_private_key(content[DEPLOY_KEY_FIELD])


def named_uris(raw_config: Mapping[str, object]) -> set[str]:
    """The user secrets the raw config names (whether or not the rest of it is valid)."""
    named = {str(raw_config.get(name) or "").strip() for name in ("environment_secret", "deploy_key")}
    return {uri for uri in named if validate.is_secret_uri(uri)}


def resolve(config: AppConfig, read: Reader) -> tuple[AppConfig, dict[str, str]]:
    """``config`` with ``deploy_key`` read out of its secret, and the settings of
    ``environment_secret``. Raises ConfigError naming each option whose secret cannot be
    read (``read`` raises SecretError) or does not fit."""
    problems: list[tuple[str, str]] = []
    settings: dict[str, str] = {}
    if config.environment_secret:
        try:
            settings = settings_of(read(config.environment_secret))
        except (SecretError, ValueError) as error:
            problems.append(("environment_secret", _why(config.environment_secret, error)))
    if validate.is_secret_uri(config.deploy_key):
        try:
            config = replace(config, deploy_key=deploy_key_of(read(config.deploy_key)))
        except (SecretError, ValueError) as error:
            problems.append(("deploy_key", _why(config.deploy_key, error)))
    if problems:
        raise ConfigError(problems)
    return config, settings


def _why(uri: str, error: Exception) -> str:
    """A status-fit reason: a read that failed hints at the grant it most often lacks."""
    hint = " (granted? juju grant-secret <name> <application>)" if isinstance(error, SecretError) else ""
    return f"secret {uri}: {error}{hint}"
