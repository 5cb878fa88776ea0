"""What the Juju unit agent does, for a local model: install charms on machines, queue
hooks in Juju's order, run them with the hook environment and tools, commit what they
changed and queue the hooks that follow from it (relation-changed on the other side,
leader-settings-changed on the other units), until the model settles.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import juju_secrets, network, servers, subordinates
from .machine import secret_tools
from .machines import Machine
from .model import Json, Model
from .toolserver import ToolServer, machine_client

JUJU_VERSION = "3.5.4"
TOOLS = (
    "config-get",
    "relation-ids",
    "relation-list",
    "relation-get",
    "relation-set",
    "unit-get",
    "network-get",
    "status-set",
    "status-get",
    "application-version-set",
    "juju-log",
    "open-port",
    "close-port",
    "opened-ports",
    "is-leader",
    "leader-get",
    "leader-set",
    "action-get",
    "action-set",
    "action-log",
    "action-fail",
    "goal-state",
    "juju-reboot",
    "secret-add",
    "secret-get",
    "secret-set",
    "secret-grant",
    "secret-revoke",
    "secret-remove",
    "secret-ids",
    "secret-info-get",
)
HOOK_TIMEOUT = 1800
MAX_EVENTS = 1000
SECRET_KEYS = ("secret_id", "secret_revision")  # what a secret hook's event carries
REMOVED = "localjuju:unit-removed"  # not a hook: the agent's last step for a removed unit
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def machine_of(model: Model, number: str) -> Machine:
    """Machine ``number`` of ``model``, as recorded in the model file."""
    info = model.machines[number]
    return Machine(
        name=info["name"], directory=Path(info["dir"]), image=Path(info["image"]), netns=info.get("netns", "")
    )


def remove_machine(model: Model, number: str) -> None:
    """Stop machine ``number``, remove its files and network namespace, forget it."""
    machine_of(model, number).destroy()
    network.detach(model.machines[number].get("netns", ""))
    del model.machines[number]


def tag(unit: str) -> str:
    return "unit-" + unit.replace("/", "-")


@dataclass
class HookResult:
    unit: str
    hook: str
    ok: bool
    seconds: float
    output: str = ""
    action: Json = field(default_factory=dict)


Reporter = Callable[[str], None]


class Agent:
    """Runs the hooks of every unit of ``model``."""

    def __init__(self, model: Model, report: Reporter | None = None):
        self.model = model
        self.report = report or (lambda line: None)

    # -- machines and charms ---------------------------------------------------------------
    def machine(self, unit: str) -> Machine:
        return machine_of(self.model, self.model.units[unit]["machine"])

    def charm_dir(self, unit: str) -> str:
        return f"/var/lib/juju/agents/{tag(unit)}/charm"

    def install_charm(self, unit: str, charm: Path) -> None:
        """Copy (or unpack) the charm into the unit's directory, keeping the unit's state files."""
        machine = self.machine(unit)
        target = machine.root / self.charm_dir(unit).lstrip("/")
        kept = {}
        if target.exists():
            for state in target.glob(".*"):
                kept[state.name] = state.read_bytes() if state.is_file() else None
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        if charm.is_dir():
            shutil.copytree(charm, target, symlinks=True)
        else:
            with zipfile.ZipFile(charm) as archive:
                archive.extractall(target)
                for info in archive.infolist():
                    mode = (info.external_attr >> 16) & 0o777
                    if mode:
                        (target / info.filename).chmod(mode)
        for name, content in kept.items():
            if content is not None and not (target / name).exists():
                (target / name).write_bytes(content)
        tools = machine.root / "var/lib/juju/tools" / tag(unit)
        tools.mkdir(parents=True, exist_ok=True)
        jujuc = machine.root / "usr/lib/localjuju/jujuc"
        jujuc.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(machine_client(), jujuc)  # every tool: a client of ToolServer
        jujuc.chmod(0o755)
        for tool in TOOLS:
            link = tools / tool
            if not link.is_symlink():
                link.symlink_to("/usr/lib/localjuju/jujuc")

    # -- events ------------------------------------------------------------------------
    def enqueue(self, unit: str, hook: str, **details: str) -> None:
        event = {"unit": unit, "hook": hook, **details}
        if event not in self.model.queue:
            self.model.queue.append(event)

    def settle(self, max_events: int = MAX_EVENTS) -> list[HookResult]:
        """Run queued events in order until none is left (units in error keep theirs)."""
        results = []
        for _ in range(max_events):
            event = next(
                (e for e in self.model.queue if self.model.units.get(e["unit"], {}).get("agent") != "error"),
                None,
            )
            if event is None:
                break
            self.model.queue.remove(event)
            if event["unit"] not in self.model.units:
                continue
            if event["hook"] == REMOVED:
                self.finish_removal(event["unit"])
                continue
            if self.model.units[event["unit"]].get("agent") == "lost":
                continue  # its machine is down: nothing runs there
            result = self.dispatch(event)
            if result is not None:
                results.append(result)
                self.model.save()
        return results

    def dispatch(self, event: Json) -> HookResult | None:
        unit = event["unit"]
        app = self.model.applications[self.model.units[unit]["app"]]
        if app.get("kind", "charm") != "charm":
            servers.handle(self, unit, event)
            return None
        result = self.run_hook(
            unit,
            event["hook"],
            relation_id=event.get("relation_id", ""),
            remote_unit=event.get("remote_unit", ""),
            remote_app=event.get("remote_app", ""),
            departing=event.get("departing", ""),
            secret={k: event[k] for k in SECRET_KEYS if event.get(k)},
        )
        reboot = self.model.units[unit].pop("reboot", None)
        if reboot and (result.ok or reboot == "now"):
            # --now killed the hook, which runs again; a hook that finished all the same
            # (the tool's caller was a subshell) is not run twice
            self.reboot(unit, event if not result.ok else None)
        return result

    def reboot(self, unit: str, rerun: Json | None = None) -> None:
        """What ``juju-reboot`` asked for: the machine reboots; a hook it interrupted
        (``--now``) runs again, then every unit of the machine runs ``start``."""
        info = self.model.units[unit]
        self.report(f"{unit}: rebooting its machine")
        self.machine(unit).reboot()
        if rerun is not None:
            info["agent"] = "idle"
            info.pop("error", None)
            self.model.queue.insert(0, dict(rerun))
        for other, details in self.model.units.items():
            if details["machine"] == info["machine"]:
                self.enqueue(other, "start")

    # -- contexts ------------------------------------------------------------------------
    def context(
        self,
        unit: str,
        action: Json | None = None,
        departing: str = "",
        relation_id: str = "",
        remote_unit: str = "",
    ) -> Json:
        """What ``unit`` may see during one hook (the hook tools read and change this)."""
        info = self.model.units[unit]
        app_name = info["app"]
        app = self.model.applications[app_name]
        relations = {}
        for rid, rel in self.model.relations_of(app_name):
            endpoint = rel["apps"][app_name]
            remote_app = next((a for a in rel["apps"] if a != app_name), app_name)
            seen = rel["seen"].get(unit, [])
            visible = [unit, app_name, remote_app, *seen]
            relations[f"{endpoint}:{rid}"] = {
                "endpoint": endpoint,
                "scope": self.relation_tag(rid),
                "remote_app": remote_app,
                "units": seen,
                "data": {e: dict(rel["data"].get(e, {})) for e in visible if e in rel["data"] or e == unit},
            }
            # Juju keeps the addresses in every unit's data from the moment it joins, and during
            # -departed both the departing unit's data and the hook's remote unit's stay readable
            readable = [departing] if departing.split("/")[0] in rel["apps"] else []
            if departing and rid == relation_id and remote_unit:
                readable.append(remote_unit)
            for remote in [*seen, *(u for u in readable if u not in seen and u != unit)]:
                data = relations[f"{endpoint}:{rid}"]["data"]
                data[remote] = {**self.unit_addresses(remote), **rel["data"].get(remote, {})}
        machine = self.model.machines[info["machine"]]
        return {
            "unit": unit,
            "app": app_name,
            "leader": app.get("leader") == unit,
            "config": self.effective_config(app_name),
            "leader_data": dict(app.get("leader_data", {})),
            "relations": relations,
            "address": machine.get("address", "127.0.0.1"),
            "cidr": machine.get("cidr", "127.0.0.0/8"),
            "interface": machine.get("interface", "lo"),
            "addresses": {
                "private-address": machine.get("address", "127.0.0.1"),
                "ingress-address": machine.get("address", "127.0.0.1"),
                "egress-subnets": f"{machine.get('address', '127.0.0.1')}/32",
            },
            "status": {"unit": dict(info["status"]), "application": dict(app.get("status", {}))},
            "version": app.get("version", ""),
            "ports": list(info.get("ports", [])),
            "logs": [],
            "action": action,
            "bindings": sorted(
                name
                for role in ("provides", "requires", "peers")
                for name in app.get("endpoints", {}).get(role, {})
            ),
            "goal": self.goal_state(app_name),
            "secrets": juju_secrets.visible(self.model, unit),
            "other_secrets": juju_secrets.hidden(self.model, unit),
        }

    def relation_tag(self, rid: str) -> str:
        """Juju's tag of relation ``rid``: its key (requirer first, then provider) as a tag."""
        rel = self.model.relations[rid]

        def requirer_first(app: str) -> bool:
            return rel["apps"][app] not in self.model.applications[app].get("endpoints", {}).get(
                "requires", {}
            )

        ends = [f"{app}:{rel['apps'][app]}" for app in sorted(rel["apps"], key=requirer_first)]
        return "relation-" + " ".join(ends).replace(":", ".").replace(" ", "#")

    def goal_state(self, app_name: str) -> Json:
        """goal-state: the application's units and, per endpoint, the remote applications
        and units (peers left out), each with its status and ``since``."""
        since = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())

        def status(unit: str) -> Json:
            info = self.model.units[unit]
            removing = any(e["unit"] == unit and e["hook"] == REMOVED for e in self.model.queue)
            return {
                "status": "dying" if removing else info.get("status", {}).get("status", "unknown"),
                "since": since,
            }

        relations: Json = {}
        for _, rel in self.model.relations_of(app_name):
            if len(rel["apps"]) == 1:
                continue
            remote = next(a for a in rel["apps"] if a != app_name)
            entry = relations.setdefault(rel["apps"][app_name], {})
            entry[remote] = {"status": "joined", "since": since}
            entry.update({u: status(u) for u in self.model.app_units(remote)})
        return {"units": {u: status(u) for u in self.model.app_units(app_name)}, "relations": relations}

    def add_secret(self, owner: str, content: dict[str, str], grants: dict[str, str], label: str = "") -> str:
        """A new secret of ``owner`` (an application) with plain ``content``, readable by
        ``grants`` (application -> the relation id the grant goes with); returns its URI."""
        return juju_secrets.create(
            self.model, owner, secret_tools.encode(content), label=label, grants=grants
        )

    def update_secret(self, uri: str, content: dict[str, str]) -> None:
        """A new revision of secret ``uri`` when the plain ``content`` differs from its latest
        (``secret-changed`` follows on the consumers tracking an older one)."""
        if juju_secrets.revise(self.model, uri, secret_tools.encode(content)):
            self.secrets_follow_up()

    def secrets_follow_up(self) -> None:
        """Queue the secret hooks the secrets' state calls for (see ``juju_secrets.follow_ups``)."""
        for event in juju_secrets.follow_ups(self.model):
            self.enqueue(**event)

    def unit_addresses(self, unit: str) -> dict[str, str]:
        """The addresses Juju puts in every unit's relation data."""
        info = self.model.units.get(unit, {})
        address = self.model.machines.get(info.get("machine", ""), {}).get("address", "127.0.0.1")
        return {"private-address": address, "ingress-address": address, "egress-subnets": f"{address}/32"}

    def effective_config(self, app: str) -> Json:
        application = self.model.applications[app]
        defaults = {k: o.get("default") for k, o in application.get("options", {}).items()}
        return {**defaults, **application.get("config", {})}

    # -- running hooks -----------------------------------------------------------------
    def run_hook(
        self,
        unit: str,
        hook: str,
        *,
        relation_id: str = "",
        remote_unit: str = "",
        remote_app: str = "",
        departing: str = "",
        action: Json | None = None,
        secret: dict[str, str] | None = None,
    ) -> HookResult:
        machine = self.machine(unit)
        info = self.model.units[unit]
        app_name = info["app"]
        context = self.context(unit, action, departing, relation_id, remote_unit)
        share = machine.directory / "share" / "context"
        share.mkdir(parents=True, exist_ok=True)
        charm_dir = self.charm_dir(unit)
        env = {
            "JUJU_UNIT_NAME": unit,
            "JUJU_MODEL_NAME": self.model.name,
            "JUJU_MODEL_UUID": self.model.data["uuid"],
            "JUJU_HOOK_NAME": "" if action else hook,
            "JUJU_DISPATCH_PATH": f"{'actions' if action else 'hooks'}/{hook}",
            "JUJU_CHARM_DIR": charm_dir,
            "CHARM_DIR": charm_dir,
            "JUJU_VERSION": JUJU_VERSION,
            "JUJU_CONTEXT_ID": f"{unit}-{hook}-{uuid.uuid4().hex[:8]}",
            "JUJU_MACHINE_ID": info["machine"],
            "JUJU_PRINCIPAL_UNIT": info.get("principal", ""),
            "JUJU_AVAILABILITY_ZONE": "",
            "JUJU_AGENT_SOCKET_NETWORK": "unix",
            "PATH": f"/var/lib/juju/tools/{tag(unit)}:{SYSTEM_PATH}",
            "LOCALJUJU_SOCKET": f"/var/lib/localjuju/context/{tag(unit)}.sock",
        }
        if relation_id:
            rel = self.model.relations[relation_id]
            endpoint = rel["apps"][app_name]
            env.update(
                {
                    "JUJU_RELATION": endpoint,
                    "JUJU_RELATION_ID": f"{endpoint}:{relation_id}",
                    "JUJU_REMOTE_UNIT": remote_unit,
                    "JUJU_REMOTE_APP": remote_app,
                }
            )
            if departing:
                env["JUJU_DEPARTING_UNIT"] = departing
        env.update(self.secret_env(unit, secret or {}))
        if action:
            env.update(
                {
                    "JUJU_ACTION_NAME": action["name"],
                    "JUJU_ACTION_UUID": action["id"],
                    "JUJU_ACTION_TAG": f"action-{action['id']}",
                }
            )
        for proxy in ("JUJU_CHARM_HTTP_PROXY", "JUJU_CHARM_HTTPS_PROXY", "JUJU_CHARM_NO_PROXY"):
            value = self.model.data.get("model_config", {}).get(proxy.lower().replace("juju_charm_", "juju-"))
            if value:
                env[proxy] = value
        env.update(self.model.machines[info["machine"]].get("hook_env", {}))  # e.g. an offline pip
        path = f"{charm_dir}/{'actions' if action else 'hooks'}/{hook}"
        if not (machine.root / path.lstrip("/")).exists():
            return HookResult(unit, hook, True, 0.0, "(no such hook)")
        info["agent"] = "executing"
        self.report(f"{unit}: running {'action' if action else 'hook'} {hook}")
        after = json.loads(json.dumps(context))  # what the hook's tools change
        start = time.monotonic()
        with ToolServer(share / f"{tag(unit)}.sock", after):
            try:
                completed = machine.run(
                    [path], env=env, check=False, capture=True, timeout=HOOK_TIMEOUT, cwd=charm_dir
                )
                ok, output = completed.returncode == 0, completed.stdout
            except subprocess.TimeoutExpired as error:
                ok, output = False, f"{error.output or ''}\nhook timed out after {HOOK_TIMEOUT}s"
        seconds = time.monotonic() - start
        self._append_log(unit, hook, output, after.get("logs", []))
        self._append_cost(unit, hook, seconds, int(after.get("tool_calls", 0)), after.get("tools_used", {}))
        self._commit(unit, context, after, ok)
        if action is not None:
            info["agent"] = "idle"
            return HookResult(unit, hook, ok, seconds, output, after.get("action") or {})
        if ok:
            info["agent"] = "idle"
            info.pop("error", None)
        else:
            info["agent"] = "error"
            info["error"] = {
                "hook": hook,
                "output": output[-4000:],
                "relation_id": relation_id,
                "remote_unit": remote_unit,
                "remote_app": remote_app,
                "departing": departing,
                **(secret or {}),
            }
            self.report(f"{unit}: hook {hook} failed")
        return HookResult(unit, hook, ok, seconds, output)

    def secret_env(self, unit: str, secret: dict[str, str]) -> dict[str, str]:
        """A secret hook's variables: the secret, the unit's label for it, the revision
        (secret-remove, secret-expired); none for other hooks."""
        uri = secret.get("secret_id", "")
        if not uri:
            return {}
        env = {"JUJU_SECRET_ID": uri, "JUJU_SECRET_LABEL": juju_secrets.hook_label(self.model, uri, unit)}
        if secret.get("secret_revision"):
            env["JUJU_SECRET_REVISION"] = secret["secret_revision"]
        return env

    def _append_log(self, unit: str, hook: str, output: str, logs: list[list[Any]]) -> None:
        lines = [
            f"{unit}: {time.strftime('%H:%M:%S', time.gmtime(at))} {level} juju-log {hook}: {message}\n"
            for at, level, message in logs
        ]
        now = time.strftime("%H:%M:%S")
        lines += [f"{unit}: {now} hook {hook}: {line}\n" for line in output.splitlines()]
        self.model.append_log("".join(lines))

    def _append_cost(self, unit: str, hook: str, seconds: float, tool_calls: int, used: Json) -> None:
        """One line per hook: how long it ran and how many hook-tool calls it made, by tool."""
        each = ", ".join(f"{name} {count}" for name, count in sorted(used.items(), key=lambda item: -item[1]))
        stamp = time.strftime("%H:%M:%S")
        self.model.append_log(
            f"{unit}: {stamp} localjuju {hook}: {seconds:.2f}s, {tool_calls} hook-tool calls ({each})\n"
        )

    def _commit(self, unit: str, before: Json, after: Json, ok: bool) -> None:
        """Keep what the hook changed, and queue the hooks that follow from it."""
        info = self.model.units[unit]
        app_name = info["app"]
        app = self.model.applications[app_name]
        info["status"] = after["status"]["unit"]
        if after["status"]["application"]:
            app["status"] = after["status"]["application"]
        if after.get("reboot"):
            info["reboot"] = after["reboot"]
        if not ok:
            return  # relation and leader settings of a failed hook are discarded, as Juju does
        juju_secrets.commit(
            self.model, unit, before["leader"], before.get("secrets", {}), after.get("secrets", {})
        )
        self.secrets_follow_up()
        if after.get("version"):
            app["version"] = after["version"]
        info["ports"] = after["ports"]
        for key, rel_after in after["relations"].items():
            self._commit_relation(key.split(":")[-1], rel_after, unit, app_name, before["leader"])
        if before["leader"] and after["leader_data"] != before["leader_data"]:
            app["leader_data"] = after["leader_data"]
            for other in self.model.app_units(app_name):
                if other != unit:
                    self.enqueue(other, "leader-settings-changed")

    def _commit_relation(self, rid: str, rel_after: Json, unit: str, app_name: str, leader: bool) -> None:
        rel = self.model.relations.get(rid)
        if rel is None:
            return
        writers = (unit, app_name) if leader else (unit,)
        for entity in writers:
            new = rel_after["data"].get(entity, {})
            if new != rel["data"].get(entity, {}):
                rel["data"][entity] = new
                self._relation_changed(rid, writer=entity, app_level=entity == app_name)

    def publish(self, rid: str, entity: str, data: Json) -> None:
        """Set ``entity``'s (a unit or an app) data in relation ``rid`` as a hook would, and queue
        relation-changed on the other side when it changed (used by server units, which run no hooks)."""
        rel = self.model.relations.get(rid)
        if rel is None or rel["data"].get(entity, {}) == data:
            return
        rel["data"][entity] = dict(data)
        self._relation_changed(rid, writer=entity, app_level="/" not in entity)

    def _relation_changed(self, rid: str, writer: str, app_level: bool) -> None:
        rel = self.model.relations[rid]
        writer_app = writer.split("/")[0]
        for other, seen in rel["seen"].items():
            if other == writer or other not in self.model.units:
                continue
            other_app = self.model.units[other]["app"]
            if app_level:
                if other_app == writer_app and len(rel["apps"]) > 1:
                    continue
                self.enqueue(
                    other,
                    f"{rel['apps'][other_app]}-relation-changed",
                    relation_id=rid,
                    remote_app=writer_app,
                    remote_unit="",
                )
            elif writer in seen:
                self.enqueue(
                    other,
                    f"{rel['apps'][other_app]}-relation-changed",
                    relation_id=rid,
                    remote_unit=writer,
                    remote_app=writer_app,
                )

    # -- relation lifecycle ------------------------------------------------------------------
    def join(self, rid: str, unit: str, remote: str) -> None:
        """``unit`` sees ``remote`` join relation ``rid``: -joined then -changed."""
        rel = self.model.relations[rid]
        seen = rel["seen"].setdefault(unit, [])
        if remote in seen:
            return
        seen.append(remote)
        endpoint = rel["apps"][self.model.units[unit]["app"]]
        remote_app = remote.split("/")[0]
        self.enqueue(
            unit, f"{endpoint}-relation-joined", relation_id=rid, remote_unit=remote, remote_app=remote_app
        )
        self.enqueue(
            unit, f"{endpoint}-relation-changed", relation_id=rid, remote_unit=remote, remote_app=remote_app
        )

    def depart(self, rid: str, unit: str, remote: str, departing: str = "") -> None:
        """``unit`` sees ``remote`` leave relation ``rid`` (``departing``: the unit that goes,
        ``remote`` unless ``unit`` itself is the one removed)."""
        rel = self.model.relations[rid]
        seen = rel["seen"].get(unit, [])
        if remote not in seen:
            return
        seen.remove(remote)
        endpoint = rel["apps"][self.model.units[unit]["app"]]
        self.enqueue(
            unit,
            f"{endpoint}-relation-departed",
            relation_id=rid,
            remote_unit=remote,
            remote_app=remote.split("/")[0],
            departing=departing or remote,
        )

    def relate(self, app_a: str, endpoint_a: str, app_b: str, endpoint_b: str, interface: str) -> str:
        rid = str(self.model.data["next_relation_id"])
        self.model.data["next_relation_id"] += 1
        apps = {app_a: endpoint_a, app_b: endpoint_b}
        rel = {"apps": apps, "interface": interface, "data": {}, "seen": {}}
        if subordinates.relation_scope(self.model, apps) == "container":
            rel["scope"] = "container"  # each side sees only the unit in its own container
        self.model.relations[rid] = rel
        for app in apps:
            for unit in self.model.app_units(app):
                self.enqueue(
                    unit,
                    f"{apps[app]}-relation-created",
                    relation_id=rid,
                    remote_app=next((a for a in apps if a != app), app),
                )
        for unit_a in self.model.app_units(app_a):
            for unit_b in self.model.app_units(app_b):
                if unit_a != unit_b and subordinates.sees(self.model, rel, unit_a, unit_b):
                    self.join(rid, unit_a, unit_b)
                    self.join(rid, unit_b, unit_a)
        return rid

    def unrelate(self, rid: str) -> None:
        rel = self.model.relations[rid]
        for unit, seen in list(rel["seen"].items()):
            for remote in list(seen):
                self.depart(rid, unit, remote)
        for app, endpoint in rel["apps"].items():
            for unit in self.model.app_units(app):
                self.enqueue(
                    unit,
                    f"{endpoint}-relation-broken",
                    relation_id=rid,
                    remote_app=next((a for a in rel["apps"] if a != app), app),
                )
        orphans = subordinates.orphans(self.model, rid)
        rel["removing"] = True
        for unit in orphans:  # a subordinate with no container relation to its principal goes
            self.remove_unit(unit)

    # -- unit lifecycle ----------------------------------------------------------------------
    def remove_unit(self, unit: str) -> None:
        """Queue what Juju runs when a unit is removed: every other unit sees it depart
        (so a proxy drops it first), then the unit itself departs and breaks each relation,
        stops, and goes, with its machine. A lost unit runs no hooks of its own. Its
        subordinates go first: the principal waits for them, as in Juju."""
        for subordinate in subordinates.subordinates_of(self.model, unit):
            self.remove_unit(subordinate)
        app = self.model.units[unit]["app"]
        self.model.units[unit]["life"] = "dying"
        for rid, rel in self.model.relations_of(app):
            for other, seen in list(rel["seen"].items()):
                if other != unit and unit in seen:
                    self.depart(rid, other, unit)
        for rid, rel in self.model.relations_of(app):
            for remote in list(rel["seen"].get(unit, [])):
                self.depart(rid, unit, remote, departing=unit)
            other_app = next((a for a in rel["apps"] if a != app), app)
            self.enqueue(unit, f"{rel['apps'][app]}-relation-broken", relation_id=rid, remote_app=other_app)
        self.enqueue(unit, "stop")
        self.enqueue(unit, "remove")
        self.enqueue(unit, REMOVED)

    def finish_removal(self, unit: str) -> None:
        """The unit and its machine leave the model (the machine stays while another unit,
        its principal or a subordinate, is on it); a new leader is elected if it led."""
        info = self.model.units[unit]
        app = self.model.applications[info["app"]]
        shared = any(u != unit and d["machine"] == info["machine"] for u, d in self.model.units.items())
        if info["machine"] in self.model.machines and not shared:
            remove_machine(self.model, info["machine"])
        del self.model.units[unit]
        for rel in self.model.relations.values():
            rel["seen"].pop(unit, None)
            rel["data"].pop(unit, None)
            for seen in rel["seen"].values():
                if unit in seen:
                    seen.remove(unit)
        self.model.data["queue"] = [e for e in self.model.queue if e["unit"] != unit]
        juju_secrets.forget_unit(self.model, unit)
        self.secrets_follow_up()
        self.report(f"{unit}: removed")
        if app.get("leader") == unit:
            self.elect(info["app"])

    def elect(self, app: str, unit: str = "") -> str:
        """Give ``app``'s leadership to ``unit`` (default: the first unit whose agent is up),
        which runs leader-elected; returns the new leader ("" when no unit can lead)."""
        candidates = [
            u
            for u in self.model.app_units(app)
            if self.model.units[u].get("agent") != "lost" and self.model.units[u].get("life") != "dying"
        ]
        chosen = unit or (candidates[0] if candidates else "")
        self.model.applications[app]["leader"] = chosen or None
        if chosen:
            self.enqueue(chosen, "leader-elected")
            self.report(f"{chosen}: elected leader of {app}")
        return chosen

    def forget_broken(self) -> None:
        """Relations whose -broken hooks all ran leave the model."""
        pending = {e.get("relation_id") for e in self.model.queue}
        for rid in [r for r, rel in self.model.relations.items() if rel.get("removing") and r not in pending]:
            del self.model.relations[rid]
            juju_secrets.drop_relation(self.model, rid)  # grants go with their relation
        self.secrets_follow_up()
