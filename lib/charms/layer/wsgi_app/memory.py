"""What the unit remembers between hooks: one typed, versioned, immutable record.

The record is a root-only JSON file beside the charm (``.wsgi-app-memory.json``), loaded
once at the start of a hook. What a hook did is written as Juju keeps it: the status it
showed at once (:func:`keep_shown`: Juju keeps a status even when the hook fails), the
rest only once the whole hook succeeded (:func:`stage`, written by :func:`commit` from the
hook's success callbacks, as charms.reactive commits unit data), because Juju drops the
ports, and charms.reactive the flags, of a hook that fails in any handler after ours.

Formats: version 1 had no ``app_version``; version 2 adds it; version 3 adds
``build_problem`` (a version 2 record kept a failed build's reason in ``problem``). A unit upgraded from a
charm that kept these facts in unit data (``wsgi-app.*`` keys and a status file) has no
record yet: :func:`load` migrates those into one.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from .writes import write_atomically

VERSION = 3
RECORD_NAME = ".wsgi-app-memory.json"
# where the charm before this record kept the same facts (migrated by load)
LEGACY_KEYS = {
    "source": "wsgi-app.source",
    "problem": "wsgi-app.problem",
    "port": "wsgi-app.port",
    "metrics_port": "wsgi-app.metrics-port",
    "transient": "wsgi-app.transient",
    "waiting": "wsgi-app.waiting",
}
LEGACY_FINGERPRINT_KEY = "reactive.data_changed.wsgi-app.desired"
LEGACY_STATUS_NAME = ".wsgi-app-status.json"


@dataclass(frozen=True)
class Memory:
    """The unit's facts from earlier hooks; the defaults are a unit that did nothing yet."""

    version: int = VERSION
    fingerprint: str = ""  # digest of the desired state last applied ("": apply)
    source: str = ""  # the source inputs of the last build, canonical JSON ("": build)
    problem: str = ""  # why the last apply is blocked (config, service): cleared by the next that works
    # why the last build of ``source`` did not go live: shown until a build of it (or of new
    # source inputs) goes live, since the same inputs are not built again (version 3)
    build_problem: str = ""
    transient: bool = False  # the failure may pass by itself: update-status builds again
    waiting: str = ""  # what the leader has still to do, e.g. "the leader to share SECRET_KEY"
    port: int = 0  # the ports opened (0: none)
    metrics_port: int = 0
    status: tuple[str, str] = ("", "")  # the workload status last set (workload, message)
    app_version: str = ""  # the application version last set (version 2)


def canonical(value: Any) -> str:
    """``value`` as the record keeps structured inputs: JSON with sorted keys."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def from_json(text: str) -> Memory:
    """The record in ``text``, of this version or an earlier one; an unreadable record is a
    unit that remembers nothing (it applies everything again, which is always safe)."""
    try:
        data = json.loads(text)
    except ValueError:
        return Memory()
    if not isinstance(data, dict) or not isinstance(data.get("version"), int) or data["version"] > VERSION:
        return Memory()
    return _typed(data)


def _typed(data: Mapping[str, Any]) -> Memory:
    """A record from ``data``: known fields of the right type, the others at their defaults."""
    default = Memory()
    values: dict[str, Any] = {}
    for spec in fields(Memory)[1:]:  # the version is this one once loaded
        value, expected = data.get(spec.name), getattr(default, spec.name)
        if spec.name == "status" and isinstance(value, list | tuple) and len(value) == 2:
            value = (str(value[0]), str(value[1]))
        if type(value) is type(expected):
            values[spec.name] = value
    return replace(default, **values)


def to_json(memory: Memory) -> str:
    return json.dumps(asdict(memory), indent=1, sort_keys=True) + "\n"


def from_legacy(get: Callable[[str], Any], status_text: str | None) -> Memory:
    """The record of a unit upgraded from the charm that kept these facts in unit data
    (``get`` reads a key) and the status it set last in a file (``status_text``)."""
    source = get(LEGACY_KEYS["source"])
    data: dict[str, Any] = {
        "source": canonical(source) if source else "",
        "problem": get(LEGACY_KEYS["problem"]) or "",
        "port": int(get(LEGACY_KEYS["port"]) or 0),
        "metrics_port": int(get(LEGACY_KEYS["metrics_port"]) or 0),
        "transient": bool(get(LEGACY_KEYS["transient"])),
        "waiting": str(get(LEGACY_KEYS["waiting"]) or ""),
    }
    with contextlib.suppress(ValueError):
        data["status"] = json.loads(status_text or "")
    return _typed(data)  # no fingerprint: the first hook after the upgrade applies in full


_remembered: dict[Path, Memory] = {}  # what each record file holds, as loaded or saved by this process
_staged: dict[Path, Memory] = {}  # what each file is to hold once the hook succeeds


def record_path() -> Path:
    from charmhelpers.core import hookenv

    return Path(hookenv.charm_dir()).parent / RECORD_NAME


def load(path: Path | None = None) -> Memory:
    """The record, read once per hook (a second handler of the same hook gets the same)."""
    path = path or record_path()
    if path in _staged:  # a second reconcile in the same hook goes on from the first
        return _staged[path]
    return _on_disk(path)


def _on_disk(path: Path) -> Memory:
    """What the file holds (read once per process; what this process wrote after that)."""
    if path not in _remembered:
        try:
            _remembered[path] = from_json(path.read_text())
        except FileNotFoundError:
            _remembered[path] = _migrate(path.parent / LEGACY_STATUS_NAME)
        except OSError:
            _remembered[path] = Memory()
    return _remembered[path]


def _migrate(status_file: Path) -> Memory:
    """The facts the older charm kept, moved into a record (its keys and file removed)."""
    from charmhelpers.core import unitdata

    kv = unitdata.kv()
    try:
        status_text: str | None = status_file.read_text()
    except OSError:
        status_text = None
    memory = from_legacy(kv.get, status_text)
    for key in (*LEGACY_KEYS.values(), LEGACY_FINGERPRINT_KEY):
        kv.unset(key)
    status_file.unlink(missing_ok=True)
    return memory


def save(memory: Memory, path: Path | None = None) -> None:
    """Write the record (root-only, in one rename) unless it holds ``memory`` already."""
    path = path or record_path()
    if _remembered.get(path) == memory and path.exists():
        return
    write_atomically(path, to_json(memory), 0o600, uid=os.geteuid(), gid=os.getegid())
    _remembered[path] = memory


def keep_shown(status: tuple[str, str], app_version: str, path: Path | None = None) -> None:
    """Write at once what the hook showed (status, application version) into the record
    as it was before the hook: that much Juju keeps whatever becomes of the hook."""
    path = path or record_path()
    save(replace(_on_disk(path), status=status, app_version=app_version), path)


def stage(memory: Memory, path: Path | None = None) -> None:
    """Have ``memory`` written once the hook succeeds (:func:`commit`); the hook's later
    reconciles go on from it meanwhile."""
    path = path or record_path()
    if not _staged:
        from charmhelpers.core import hookenv

        hookenv.atexit(commit)  # run by charms.reactive only when every handler succeeded
    _staged[path] = memory


def commit() -> None:
    """Write what the hook staged (its success callback; actions call it when they end)."""
    for path, memory in list(_staged.items()):
        save(memory, path)
    _staged.clear()


def forget() -> None:
    """Drop what this process loaded or staged (a test starts the next hook)."""
    _remembered.clear()
    _staged.clear()
