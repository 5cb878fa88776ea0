"""Production settings for a Django project, completed by the wsgi-app charm.

The charm installs this module into its own directory of modules (on the application's
Python path) and, unless ``django_production_settings`` is off, points the application's
``DJANGO_SETTINGS_MODULE`` at it, with ``WSGI_APP_DJANGO_SETTINGS`` naming the project's
own settings module. It imports that module, takes every upper-case name from it, and
completes what ``django-admin startproject`` leaves for development, each only where the
project kept the stock value:

- ``DEBUG = True`` becomes ``False``, unless the application's environment sets ``DEBUG``
  or ``DJANGO_DEBUG`` (the operator's ``environment``): the project's settings read it;
- a ``django-insecure-`` ``SECRET_KEY`` becomes the charm's ``SECRET_KEY`` setting
  (shared by the leader, the same on every unit);
- an unset ``STATIC_ROOT`` becomes ``WSGI_APP_STATIC_ROOT`` (a directory in the release,
  where the charm runs ``collectstatic``);
- the default static files storage becomes a manifest storage, so names carry a hash of
  their content and can be cached for ever (not strict: a file missing from the manifest
  is served under its own name, not a server error);
- an empty ``ALLOWED_HOSTS`` and ``CSRF_TRUSTED_ORIGINS`` become the charm's
  ``DJANGO_ALLOWED_HOSTS`` and ``CSRF_TRUSTED_ORIGINS`` settings (comma separated).

Anything the project set itself is left as it is.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any

_project_variable = "WSGI_APP_DJANGO_SETTINGS"
_static_root_variable = "WSGI_APP_STATIC_ROOT"
_insecure_key_prefix = "django-insecure-"
_debug_variables = ("DEBUG", "DJANGO_DEBUG")  # an operator's choice the settings may read
_default_static_storage = "django.contrib.staticfiles.storage.StaticFilesStorage"
_default_file_storage = "django.core.files.storage.FileSystemStorage"
_manifest_storage_path = f"{__name__}.ManifestStaticFilesStorage"


def complete(project: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings to change in ``project`` (its upper-case names) for production."""
    changed: dict[str, Any] = {}
    if project.get("DEBUG") is True and not any(name in environ for name in _debug_variables):
        changed["DEBUG"] = False
    secret_key = environ.get("SECRET_KEY", "")
    if str(project.get("SECRET_KEY", "")).startswith(_insecure_key_prefix) and secret_key:
        changed["SECRET_KEY"] = secret_key
    if project.get("STATIC_ROOT") is None and environ.get(_static_root_variable):
        changed["STATIC_ROOT"] = environ[_static_root_variable]
    if changed.get("STATIC_ROOT", project.get("STATIC_ROOT")):
        changed.update(_manifest_storage(project))
    for name, setting in (
        ("ALLOWED_HOSTS", "DJANGO_ALLOWED_HOSTS"),
        ("CSRF_TRUSTED_ORIGINS", "CSRF_TRUSTED_ORIGINS"),
    ):
        values = _listed(environ.get(setting, ""))
        if not project.get(name) and values:
            changed[name] = values
    return changed


def _manifest_storage(project: Mapping[str, Any]) -> dict[str, Any]:
    """``STORAGES`` with the manifest storage for static files, when the project's is the
    default one (``STORAGES`` unset or naming it, and no legacy ``STATICFILES_STORAGE``)."""
    if "STATICFILES_STORAGE" in project:
        return {}
    storages = dict(project.get("STORAGES") or {"default": {"BACKEND": _default_file_storage}})
    current = storages.get("staticfiles", {"BACKEND": _default_static_storage})
    if not isinstance(current, Mapping) or current.get("BACKEND") != _default_static_storage:
        return {}
    storages["staticfiles"] = {**current, "BACKEND": _manifest_storage_path}
    return {"STORAGES": storages}


def _listed(value: str) -> list[str]:
    """A comma (or space) separated setting as a list, empty items dropped."""
    return [item for item in value.replace(",", " ").split() if item]


def __getattr__(name: str) -> Any:
    """``ManifestStaticFilesStorage``, made when Django's storage first asks for it (Django
    is not imported while its settings are being read)."""
    if name != "ManifestStaticFilesStorage":
        raise AttributeError(name)
    from django.contrib.staticfiles import storage

    class ManifestStaticFilesStorage(storage.ManifestStaticFilesStorage):
        """Django's manifest storage, not strict: a name it cannot hash (in no manifest and
        not in STATIC_ROOT: a template's typo, collectstatic turned off) is served as it
        is instead of raising, which would be a server error on every page naming it."""

        manifest_strict = False

        def stored_name(self, name: str) -> str:
            try:
                return super().stored_name(name)
            except ValueError:  # non-strict Django still raises for a file it cannot find
                return name

    globals()[name] = ManifestStaticFilesStorage
    return ManifestStaticFilesStorage


_project = importlib.import_module(os.environ[_project_variable])
_settings = {name: value for name, value in vars(_project).items() if name.isupper()}
globals().update(_settings)
globals().update(complete(_settings, os.environ))
