"""``localjuju``: deploy a built charm onto local systemd machines and drive its hooks
as the Juju agent would. Verbs mirror juju's; ``localjuju <verb> --help`` for each."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from . import (
    bases,
    bundles,
    configuring,
    deploying,
    destroying,
    leftovers,
    machine_events,
    machines,
    pg_levers,
    relating,
    running,
    status_view,
    user_secrets,
)
from .actions import ActionRefused
from .model import DEFAULT_MODEL, Model


def key_values(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"expected key=value, got {pair!r}")
        if value.startswith("@") and Path(value[1:]).is_file():
            value = Path(value[1:]).read_text()
        values[key] = value
    return values


def base_option(text: str) -> bases.Base:
    """``--base``'s value: a base localjuju boots (argparse names the others)."""
    try:
        return bases.parse(text)
    except bases.BaseError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


BASE_HELP = f"the machines' base: {', '.join(bases.BASES)} (default {bases.DEFAULT.name})"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="localjuju", description=__doc__)
    p.add_argument("-m", "--model", default=os.environ.get("LOCALJUJU_MODEL", DEFAULT_MODEL))
    sub = p.add_subparsers(dest="verb", required=True)

    d = sub.add_parser(
        "deploy",
        help="deploy a built charm (directory or .charm) on new machines, a server "
        "(postgresql, memcached, elasticsearch, apache2; or server:<name>) on the host, or a bundle (.yaml)",
    )
    d.add_argument("charm", help="charm path, server name or bundle file")
    d.add_argument("app", nargs="?", default="")
    d.add_argument("--config", action="append", default=[], help="key=value (value @file reads a file)")
    d.add_argument("-n", "--num-units", type=int, default=1)
    d.add_argument("--channel", default="", help="(servers) the real charm's channel played, e.g. 16/stable")
    d.add_argument("--base", type=base_option, help=f"(charms) {BASE_HELP}")
    d.add_argument(
        "--charm",
        dest="bundle_charm",
        type=Path,
        help="(bundles) the built charm that stands for the bundle's local charm",
    )
    d.add_argument(
        "--isolated",
        action="store_true",
        help="on the model's own network (10.231.0.x): machines with an offline wheelhouse, "
        "servers in its server namespace (10.231.0.2); add-unit follows",
    )
    d.add_argument(
        "--wheels",
        action="append",
        type=Path,
        default=[],
        metavar="REQUIREMENTS_FILE",
        help="give the machines an offline wheelhouse of the requirements in this file (repeatable; "
        "with --isolated and neither option, the wheelhouse is empty)",
    )
    d.add_argument(
        "--wheel",
        action="append",
        default=[],
        metavar="REQUIREMENT",
        help="one requirement for the offline wheelhouse, e.g. 'gunicorn>=23' (repeatable)",
    )

    b = sub.add_parser(
        "deploy-bundle", help="deploy a bundle: our charm's apps from --charm, others as servers"
    )
    b.add_argument("bundle", type=Path)
    b.add_argument(
        "--charm",
        type=Path,
        help="the built charm standing for the bundle's local charm (default: its path)",
    )

    fo = sub.add_parser("failover", help="promote a postgresql server's standby (added if missing)")
    fo.add_argument("app")
    for verb, what in (("withhold-access", "leave out of"), ("grant-access", "put back in")):
        w = sub.add_parser(verb, help=f"{what} a postgresql server's allowed-units/allowed-subnets")
        w.add_argument("app")
        w.add_argument("unit", help="the client unit, e.g. my-charm/0")

    a = sub.add_parser("add-unit", help="add a unit (and machine) to an application")
    a.add_argument("app")
    a.add_argument(
        "--base",
        type=base_option,
        help="the application's base (units share it: any other is refused)",
    )

    ru = sub.add_parser("remove-unit", help="remove a unit: its relations depart, it stops, its machine goes")
    ru.add_argument("unit")
    km = sub.add_parser(
        "kill-machine", help="pull the plug on a unit's machine (tests): its agent is lost, leadership moves"
    )
    km.add_argument("unit")
    el = sub.add_parser("elect", help="make a unit its application's leader now (tests)")
    el.add_argument("unit")

    c = sub.add_parser("config", help="show or change an application's config")
    c.add_argument("app")
    c.add_argument("settings", nargs="*", help="key=value to set, or key to show")
    c.add_argument("--reset", action="append", default=[])

    r = sub.add_parser("relate", aliases=["integrate"], help="relate two applications")
    r.add_argument("a")
    r.add_argument("b")
    rr = sub.add_parser("remove-relation", help="remove a relation")
    rr.add_argument("a")
    rr.add_argument("b")

    rd = sub.add_parser("set-relation-data", help="write a unit's or app's relation data by hand (tests)")
    rd.add_argument("relation_id", help="as `status --format json` lists it")
    rd.add_argument("entity", help="the unit or application whose data it is")
    rd.add_argument("settings", nargs="+", help="key=value; an empty value deletes the key")
    rd.add_argument("--replace", action="store_true", help="drop the keys not given")

    run = sub.add_parser("run", help="run an action on a unit")
    run.add_argument("unit")
    run.add_argument("action")
    run.add_argument("params", nargs="*")
    run.add_argument("--format", choices=("yaml", "json"), default="yaml")

    st = sub.add_parser("status", help="the model's applications, units and relations")
    st.add_argument("--format", choices=("tabular", "json", "yaml"), default="tabular")

    dl = sub.add_parser("debug-log", help="hook output and juju-log lines")
    dl.add_argument("--lines", "-n", type=int, default=100)
    dl.add_argument("--include", default="")
    dl.add_argument("--replay", action="store_true")

    up = sub.add_parser("upgrade", aliases=["refresh"], help="install a new build of the charm")
    up.add_argument("app")
    up.add_argument("--path", type=Path)

    im = sub.add_parser(
        "images", help="build the machine image of each base once (cached), and print where each is"
    )
    im.add_argument(
        "--base",
        type=base_option,
        action="append",
        help=f"a base (repeatable; default: {', '.join(bases.BASES)})",
    )
    sub.add_parser("destroy", help="stop and remove every machine and server of the model, and its files")
    sub.add_parser(
        "leftovers",
        help="list what the model has on the host, found by name (after destroy: what it left); "
        "exits 1 when there is anything",
    )

    h = sub.add_parser(
        "run-hook", help="fire one hook (e.g. update-status) on a unit or every unit of an app"
    )
    h.add_argument("unit")
    h.add_argument("hook")
    sub.add_parser("tick", help="fire update-status on every unit, as Juju does every 5 minutes")
    rs = sub.add_parser("resolved", help="clear a unit's hook error and retry the hook")
    rs.add_argument("unit")
    rs.add_argument("--no-retry", action="store_true")
    rb = sub.add_parser("reboot", help="reboot a unit's machine (its units run start once it is back)")
    rb.add_argument("unit")
    secret_verbs(sub)
    rp = sub.add_parser(
        "rotate-password",
        help="give every user of a postgresql server's database relations a new password "
        "(a new revision of each secret-user secret)",
    )
    rp.add_argument("app")
    ex = sub.add_parser("exec", aliases=["ssh"], help="run a command on a unit's machine")
    ex.add_argument("unit")
    ex.add_argument("command", nargs=argparse.REMAINDER)
    return p


def secret_verbs(sub: Any) -> None:
    """The operator's secret verbs, as Juju 3 spells them."""
    content = "key=value, key#base64=B64 or key#file=PATH"
    add = sub.add_parser("add-secret", help="add a secret of the model; prints its URI")
    add.add_argument("name")
    add.add_argument("content", nargs="*", help=content)
    add.add_argument("--info", default="", help="a description")
    add.add_argument("--file", default="", help="a YAML or JSON file of keys and values")
    for verb, what in (("grant-secret", "let applications read"), ("revoke-secret", "take back")):
        g = sub.add_parser(verb, help=f"{what} a secret (APPS: comma-separated)")
        g.add_argument("secret", help="its name or URI")
        g.add_argument("apps")
    up = sub.add_parser("update-secret", help="a new revision of a secret (secret-changed follows)")
    up.add_argument("secret", help="its name or URI")
    up.add_argument("content", nargs="*", help=content)
    up.add_argument("--info", default=None)
    up.add_argument("--file", default="", help="a YAML or JSON file of keys and values")
    rm = sub.add_parser("remove-secret", help="remove a secret of the model (or one revision)")
    rm.add_argument("secret", help="its name or URI")
    rm.add_argument("--revision", type=int, default=0)
    sub.add_parser("secrets", aliases=["list-secrets"], help="the model's secrets (no content)")
    show = sub.add_parser("show-secret", help="a secret's details (its content with --reveal)")
    show.add_argument("secret", help="its name or URI")
    show.add_argument("--reveal", action="store_true")
    show.add_argument("--format", choices=("yaml", "json"), default="yaml")


def deploy(args: argparse.Namespace, m: str) -> None:
    """``deploy`` picks a bundle, a server or a charm from its argument; ``deploy-bundle`` a bundle."""
    if args.verb == "deploy-bundle":
        bundles.deploy_bundle(args.bundle, args.charm, m)
        return
    spec = args.charm
    bundle = spec.endswith((".yaml", ".yml")) and Path(spec).is_file()
    server = None if bundle or Path(spec).exists() else deploying.server_name(spec)
    if args.base is not None and (bundle or server):
        raise SystemExit("--base takes a charm: a bundle names its bases, servers run on the host")
    if bundle:
        bundles.deploy_bundle(Path(spec), args.bundle_charm, m)
    elif server:
        deploying.deploy_server(
            server, args.app, key_values(args.config), args.num_units, m, args.isolated, args.channel
        )
    else:
        wheels = deploying.wheel_requirements(args.wheels, args.wheel)
        base = args.base or bases.DEFAULT
        deploying.deploy(
            Path(spec), args.app, key_values(args.config), args.num_units, m, args.isolated, wheels, base
        )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    m = args.model
    try:
        return dispatch(args, m)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def show_deployed(args: argparse.Namespace, m: str) -> None:
    deploy(args, m)
    data = status_view.status_data(Model.load(m))
    status_view.print_status(data)
    for url in status_view.unit_urls(data):
        print(f"\n{url}")


def config(args: argparse.Namespace, m: str) -> None:
    """``config app k=v ...`` sets (``--reset`` resets), ``config app k`` prints, ``config app`` all."""
    shown = [s for s in args.settings if "=" not in s]
    changes = key_values([s for s in args.settings if "=" in s])
    if changes or args.reset:
        configuring.set_config(args.app, changes, args.reset, m)
    elif shown:
        for key in shown:
            print(configuring.get_config(args.app, m).get(key, ""))
    else:
        sys.stdout.write(yaml.safe_dump(configuring.get_config(args.app, m), sort_keys=True))


def run_action(args: argparse.Namespace, m: str) -> int:
    try:
        result = running.run_action(args.unit, args.action, key_values(args.params), m)
    except ActionRefused as refused:
        print(f"ERROR {refused}", file=sys.stderr)
        return 1
    text = json.dumps(result, indent=2) if args.format == "json" else yaml.safe_dump(result, sort_keys=False)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0 if result["status"] == "completed" else 1


def status(args: argparse.Namespace, m: str) -> None:
    data = status_view.status_data(Model.load(m))
    if args.format == "json":
        print(json.dumps(data, indent=2))
    elif args.format == "yaml":
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False))
    else:
        status_view.print_status(data)


def debug_log(args: argparse.Namespace, m: str) -> None:
    log = Model.load(m).dir / "debug.log"
    lines = log.read_text().splitlines() if log.exists() else []
    lines = [line for line in lines if line.startswith(args.include)]
    print("\n".join(lines if args.replay else lines[-args.lines :]))


def relate(args: argparse.Namespace, m: str) -> None:
    relating.relate(args.a, args.b, m)


def run_hook(args: argparse.Namespace, m: str) -> int:
    return 0 if all(r.ok for r in running.run_hook(args.unit, args.hook, m)) else 1


def tick(args: argparse.Namespace, m: str) -> None:
    start = time.monotonic()
    for app in Model.load(m).applications:
        running.run_hook(app, "update-status", m)
    running.secret_timers(m)
    print(f"update-status ran on every unit in {time.monotonic() - start:.1f}s", file=sys.stderr)


def exec_command(args: argparse.Namespace, m: str) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return int(machine_events.exec_in(args.unit, command or ["bash"], m).returncode)


def failover(args: argparse.Namespace, m: str) -> None:
    print(f"{args.app}: master is now {pg_levers.failover(args.app, m)}")


def withhold_access(args: argparse.Namespace, m: str) -> None:
    pg_levers.set_access(args.app, args.unit, False, m)


def grant_access(args: argparse.Namespace, m: str) -> None:
    pg_levers.set_access(args.app, args.unit, True, m)


def add_unit(args: argparse.Namespace, m: str) -> None:
    print(deploying.add_unit(args.app, m, args.base))


def remove_unit(args: argparse.Namespace, m: str) -> None:
    deploying.remove_unit(args.unit, m)


def kill_machine(args: argparse.Namespace, m: str) -> None:
    print(f"leader: {machine_events.kill_machine(args.unit, m) or '(none)'}")


def elect(args: argparse.Namespace, m: str) -> None:
    running.elect(args.unit, m)


def remove_relation(args: argparse.Namespace, m: str) -> None:
    relating.remove_relation(args.a, args.b, m)


def set_relation_data(args: argparse.Namespace, m: str) -> None:
    relating.set_relation_data(args.relation_id, args.entity, key_values(args.settings), args.replace, m)


def upgrade(args: argparse.Namespace, m: str) -> None:
    deploying.upgrade(args.app, args.path, m)


def images(args: argparse.Namespace, m: str) -> None:
    for base in args.base or bases.BASES.values():
        print(f"{base.name}: {machines.image(base=base)}")


def destroy(args: argparse.Namespace, m: str) -> None:
    destroying.destroy(m)


def print_leftovers(args: argparse.Namespace, m: str) -> int:
    """Print what model ``m`` has on the host; 1 when there is anything, else 0."""
    found = leftovers.find(m)
    for item in found:
        print(item)
    if not found:
        print(f"nothing of model {m} is on the host", file=sys.stderr)
    return 1 if found else 0


def resolved(args: argparse.Namespace, m: str) -> None:
    running.resolved(args.unit, not args.no_retry, m)


def reboot(args: argparse.Namespace, m: str) -> None:
    machine_events.reboot(args.unit, m)


def add_secret(args: argparse.Namespace, m: str) -> None:
    print(user_secrets.add_secret(args.name, args.content, args.info, m, args.file))


def grant_secret(args: argparse.Namespace, m: str) -> None:
    user_secrets.grant_secret(args.secret, args.apps, m)


def revoke_secret(args: argparse.Namespace, m: str) -> None:
    user_secrets.revoke_secret(args.secret, args.apps, m)


def update_secret(args: argparse.Namespace, m: str) -> None:
    user_secrets.update_secret(args.secret, args.content, args.info, m, args.file)


def remove_secret(args: argparse.Namespace, m: str) -> None:
    user_secrets.remove_secret(args.secret, args.revision, m)


def list_secrets(args: argparse.Namespace, m: str) -> None:
    rows = user_secrets.list_secrets(m)
    columns = ("id", "name", "owner", "rotation", "revision", "updated")
    widths = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in columns}
    for row in [{c: c.capitalize() for c in columns}, *rows]:
        print("  ".join(row[c].ljust(widths[c]) for c in columns).rstrip())


def show_secret(args: argparse.Namespace, m: str) -> None:
    shown = user_secrets.show_secret(args.secret, args.reveal, m)
    text = (
        json.dumps(shown, indent=2) + "\n"
        if args.format == "json"
        else yaml.safe_dump(shown, sort_keys=False)
    )
    sys.stdout.write(text)


def rotate_password(args: argparse.Namespace, m: str) -> None:
    for user in pg_levers.rotate_passwords(args.app, m):
        print(f"{args.app}: new password for {user}")


Verb = Callable[[argparse.Namespace, str], "int | None"]
VERBS: dict[str, Verb] = {  # each subcommand (and alias) of the parser, and its function
    "deploy": show_deployed,
    "deploy-bundle": show_deployed,
    "failover": failover,
    "withhold-access": withhold_access,
    "grant-access": grant_access,
    "add-unit": add_unit,
    "remove-unit": remove_unit,
    "kill-machine": kill_machine,
    "elect": elect,
    "config": config,
    "relate": relate,
    "integrate": relate,
    "remove-relation": remove_relation,
    "set-relation-data": set_relation_data,
    "run": run_action,
    "status": status,
    "debug-log": debug_log,
    "upgrade": upgrade,
    "refresh": upgrade,
    "images": images,
    "destroy": destroy,
    "leftovers": print_leftovers,
    "run-hook": run_hook,
    "tick": tick,
    "resolved": resolved,
    "reboot": reboot,
    "add-secret": add_secret,
    "grant-secret": grant_secret,
    "revoke-secret": revoke_secret,
    "update-secret": update_secret,
    "remove-secret": remove_secret,
    "secrets": list_secrets,
    "list-secrets": list_secrets,
    "show-secret": show_secret,
    "rotate-password": rotate_password,
    "exec": exec_command,
    "ssh": exec_command,
}


def dispatch(args: argparse.Namespace, m: str) -> int:
    """Run the verb's function; its exit code (none: 0)."""
    return VERBS[args.verb](args, m) or 0


if __name__ == "__main__":
    sys.exit(main())
