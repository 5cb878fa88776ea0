"""A fake of Juju's secret hook tools for unit tests: ``subprocess.run`` answered from an
in-memory store, with Juju's owner/consumer rules (before and after 3.1.7) and every call
recorded."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class FakeSecrets:
    """Secrets by id: ``revisions`` (number -> content), ``label``; what this unit tracks."""

    owner: bool = True  # this unit's application owns the secrets it adds
    # Juju <= 3.1.6: an owner always reads the latest revision and is refused --refresh;
    # from 3.1.7 an owner tracks a revision as a consumer does (the default here)
    owner_refuses_refresh: bool = False
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    tracked: dict[str, int] = field(default_factory=dict)
    calls: list[list[str]] = field(default_factory=list)
    # revisions secret-set made in this hook: Juju commits them when the hook ends, and
    # secret-info-get does not count them before (the uniter's SecretMetadata)
    uncommitted: dict[str, int] = field(default_factory=dict)
    files_seen: list[str] = field(default_factory=list)  # what the #file= arguments held

    def add(self, xid: str, content: dict[str, str], label: str = "") -> str:
        self.secrets[xid] = {"revisions": {1: dict(content)}, "label": label}
        return f"secret:{xid}"

    def new_revision(self, xid: str, content: dict[str, str]) -> None:
        revisions = self.secrets[xid]["revisions"]
        revisions[max(revisions) + 1] = dict(content)

    def run(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(command))
        try:
            out = getattr(self, command[0].replace("-", "_"))(command[1:])
        except LookupError as error:
            return subprocess.CompletedProcess(command, 1, stdout="", stderr=f"ERROR {error.args[0]}\n")
        return subprocess.CompletedProcess(command, 0, stdout=out, stderr="")

    def _content(self, args: list[str]) -> dict[str, str]:
        content = {}
        for arg in args:
            key, _, path = arg.partition("#file=")
            text = Path(path).read_text()
            self.files_seen.append(text)
            content[key] = text
        return content

    def secret_add(self, args: list[str]) -> str:
        label = args[args.index("--label") + 1]
        if any(s["label"] == label for s in self.secrets.values()):
            raise LookupError(f'secret with label "{label}" already exists')
        xid = f"d3q1v5hmp25c7e2rl{len(self.secrets):03d}"
        return self.add(xid, self._content(args[4:]), label) + "\n"

    def end_hook(self) -> None:
        self.uncommitted.clear()

    def secret_set(self, args: list[str]) -> str:
        xid = args[0].removeprefix("secret:")
        content, revisions = self._content(args[1:]), self.secrets[xid]["revisions"]
        if content != revisions[max(revisions)]:  # Juju makes no revision of the same content
            self.new_revision(xid, content)
            self.uncommitted[xid] = self.uncommitted.get(xid, 0) + 1
        return ""

    def secret_get(self, args: list[str]) -> str:
        xid = args[0].removeprefix("secret:")
        if xid not in self.secrets:
            raise LookupError(f'secret "{xid}" not found')
        revisions = self.secrets[xid]["revisions"]
        latest = max(revisions)
        if self.owner and self.owner_refuses_refresh:  # Juju <= 3.1.6: the owner reads the latest
            if "--refresh" in args:
                raise LookupError("secret owner cannot use --refresh")
            return json.dumps(revisions[latest])
        # consumers, and owners from Juju 3.1.7 on (juju/juju#16598): the revision tracked,
        # fixed at the first read, moved to the latest by --refresh
        if "--refresh" in args or xid not in self.tracked:
            self.tracked[xid] = latest
        if self.tracked[xid] not in revisions:
            raise LookupError(f'secret revision "secret:{xid}/{self.tracked[xid]}" not found')
        return json.dumps(revisions[self.tracked[xid]])

    def secret_info_get(self, args: list[str]) -> str:
        for xid, secret in self.secrets.items():
            if args[0] in (f"secret:{xid}", xid) or args[:2] == ["--label", secret["label"]]:
                revision = max(secret["revisions"]) - self.uncommitted.get(xid, 0)
                return json.dumps({xid: {"revision": revision, "label": secret["label"]}})
        raise LookupError("secret not found")

    def secret_remove(self, args: list[str]) -> str:
        del self.secrets[args[0].removeprefix("secret:")]["revisions"][int(args[2])]
        return ""
