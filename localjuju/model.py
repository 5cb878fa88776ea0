"""The model file: every application, unit, machine and relation of a local model, with
the data Juju would keep for them (config, relation settings, leader settings, status,
ports, logs). One JSON file under ``$LOCALJUJU_HOME/<model>/``; commands hold its lock
while they change it, and tests may read and change it between commands.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Json = dict[str, Any]
DEFAULT_MODEL = "default"  # the model a verb acts on without -m (or $LOCALJUJU_MODEL)


def home() -> Path:
    return Path(os.environ.get("LOCALJUJU_HOME", "/var/lib/localjuju"))


def model_dir(name: str) -> Path:
    return home() / name


class Model:
    """A loaded model; :meth:`save` writes it back."""

    def __init__(self, name: str, data: Json):
        self.name = name
        self.data = data

    @property
    def dir(self) -> Path:
        return model_dir(self.name)

    @property
    def path(self) -> Path:
        return self.dir / "model.json"

    @classmethod
    def empty(cls, name: str) -> Model:
        return cls(
            name,
            {
                "name": name,
                "uuid": str(uuid.uuid4()),
                "applications": {},
                "units": {},
                "machines": {},
                "relations": {},
                "next_relation_id": 0,
                "next_machine": 0,
                "queue": [],
            },
        )

    @classmethod
    def load(cls, name: str) -> Model:
        path = model_dir(name) / "model.json"
        if not path.exists():
            return cls.empty(name)
        return cls(name, json.loads(path.read_text()))

    def save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        # root's alone: it holds relation data and the servers' passwords
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # a temporary file left by a crash may have other bits
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(self.data, indent=1, sort_keys=True))
        temporary.replace(self.path)

    def append_log(self, text: str) -> None:
        """Add ``text`` to the model's debug log, root's alone: hook output may hold what a
        charm printed of its secrets (Juju's own errors echo a bad argument)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / "debug.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)  # a log an older localjuju made world-readable
        with os.fdopen(fd, "a") as log:
            log.write(text)

    # -- accessors ---------------------------------------------------------------------
    @property
    def applications(self) -> dict[str, Json]:
        return self.data["applications"]  # type: ignore[no-any-return]

    @property
    def units(self) -> dict[str, Json]:
        return self.data["units"]  # type: ignore[no-any-return]

    @property
    def machines(self) -> dict[str, Json]:
        return self.data["machines"]  # type: ignore[no-any-return]

    @property
    def relations(self) -> dict[str, Json]:
        return self.data["relations"]  # type: ignore[no-any-return]

    @property
    def queue(self) -> list[Json]:
        return self.data["queue"]  # type: ignore[no-any-return]

    def app_units(self, app: str) -> list[str]:
        return sorted(
            (u for u, d in self.units.items() if d["app"] == app), key=lambda u: int(u.split("/")[1])
        )

    def relations_of(self, app: str) -> list[tuple[str, Json]]:
        return [(rid, rel) for rid, rel in self.relations.items() if app in rel["apps"]]


@contextlib.contextmanager
def open_model(name: str) -> Iterator[Model]:
    """Load the model under its lock; save it when the block ends (also on errors)."""
    directory = model_dir(name)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        model = Model.load(name)
        try:
            yield model
        finally:
            model.save()
