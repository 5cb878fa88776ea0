"""A minimal log-shipper subordinate charm, written into a directory by the test that deploys it.

It requires ``logging`` (interface wsgi-app-logs, ``scope: container``): on its principal's
machine it reads what the principal publishes there (``journal-match``, ``syslog-identifier``),
and with its ``target`` option (``host:port`` of a syslog server) runs one systemd service,
``log-shipper-<identifier>``: ``journalctl -f -o json <journal-match>`` read by a small
forwarder that sends each entry to the target as RFC 5424 syslog over TCP (octet-counted),
with the machine's hostname and the entry's identifier. The relation's end (``-broken``),
``stop`` and ``remove`` take the service away. Hooks and forwarder: the standard library only.
"""

from __future__ import annotations

from pathlib import Path

METADATA = """\
name: log-shipper
summary: ships its principal's journal lines to a syslog server (a test charm)
description: Reads the logging relation and forwards the journal lines it names over TCP syslog.
subordinate: true
series: [jammy, noble]
requires:
  logging:
    interface: wsgi-app-logs
    scope: container
"""
CONFIG = """\
options:
  target:
    type: string
    default: ""
    description: host:port of a syslog server receiving RFC 5424 over TCP
"""
HOOK = r'''#!/usr/bin/env python3
"""log-shipper's hooks: one reconcile from the relation data and the config."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

HOOK = Path(sys.argv[0]).name
CHARM = Path(os.environ["CHARM_DIR"])
PRINCIPAL = os.environ.get("JUJU_PRINCIPAL_UNIT", "")
STATE = Path("/etc/log-shipper")
MATCH = re.compile(r"[A-Z_][A-Z0-9_]{0,63}=[A-Za-z0-9@._:-]{1,200}\Z")
IDENTIFIER = re.compile(r"[A-Za-z0-9@._-]{1,48}\Z")
TARGET = re.compile(r"([A-Za-z0-9.-]{1,253}):([0-9]{1,5})\Z")
GOING = ("stop", "remove", "logging-relation-broken")


def tool(*args):
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else None


def status(state, message):
    subprocess.run(["status-set", state, message], check=True)


def principal_data():
    """What the principal unit publishes on logging ({} before it has)."""
    for rid in tool("relation-ids", "logging", "--format=json") or []:
        if PRINCIPAL in (tool("relation-list", "-r", rid, "--format=json") or []):
            return tool("relation-get", "-r", rid, "--format=json", "-", PRINCIPAL) or {}
    return {}


def service_name(identifier):
    return f"log-shipper-{identifier}"


def stop_all():
    for conf in STATE.glob("*.json"):
        name = service_name(conf.stem)
        subprocess.run(["systemctl", "disable", "--now", name], check=False, capture_output=True)
        Path(f"/etc/systemd/system/{name}.service").unlink(missing_ok=True)
        conf.unlink()
    subprocess.run(["systemctl", "daemon-reload"], check=True)


def ship(identifier, match, target):
    STATE.mkdir(mode=0o755, exist_ok=True)
    conf = STATE / f"{identifier}.json"
    state = f"/var/lib/log-shipper/{identifier}"
    text = json.dumps({"journal_match": match, "target": target, "state": state})
    unit = (
        "[Unit]\nDescription=log-shipper: journal lines to syslog\nAfter=network.target\n\n"
        f"[Service]\nExecStart=/usr/bin/python3 -u {CHARM}/shipper.py {conf}\n"
        "Restart=always\nRestartSec=1\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )
    path = Path(f"/etc/systemd/system/{service_name(identifier)}.service")
    changed = not conf.exists() or conf.read_text() != text or not path.exists() or path.read_text() != unit
    conf.write_text(text)
    path.write_text(unit)
    subprocess.run(["systemctl", "daemon-reload"], check=True)
    subprocess.run(["systemctl", "enable", service_name(identifier)], check=True, capture_output=True)
    action = "restart" if changed else "start"
    subprocess.run(["systemctl", action, service_name(identifier)], check=True)


def main():
    if HOOK in GOING:
        stop_all()
        return
    target = str(tool("config-get", "--format=json", "target") or "")
    data = principal_data()
    match, identifier = data.get("journal-match", ""), data.get("syslog-identifier", "")
    if not TARGET.match(target):
        stop_all()
        status("blocked", "set target to host:port of a syslog server")
    elif not (MATCH.match(match) and IDENTIFIER.match(identifier)):
        stop_all()
        status("waiting", f"waiting for {PRINCIPAL or 'the principal'}'s logging data")
    else:
        ship(identifier, match, target)
        status("active", f"shipping {identifier} of {PRINCIPAL} to {target}")


main()
'''
SHIPPER = r'''"""Forward journal entries to a syslog server: RFC 5424 over TCP, octet-counted.

Reads ``journalctl -f -o json <match>`` from where it left off (its cursor file), or from the
start of the journal the first time; reconnects to the server until it answers.
"""
import json
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

conf = json.loads(Path(sys.argv[1]).read_text())
host, _, port = conf["target"].rpartition(":")
cursor_file = Path(conf["state"] + ".cursor")
cursor_file.parent.mkdir(parents=True, exist_ok=True)
HOSTNAME = socket.gethostname()


def text(value):
    if isinstance(value, list):  # the journal's binary fields: a list of bytes
        return bytes(value).decode(errors="replace")
    return str(value or "")


def frame(entry):
    severity = int(entry.get("PRIORITY", 6))
    facility = int(entry.get("SYSLOG_FACILITY", 1))
    stamp = datetime.fromtimestamp(int(entry["__REALTIME_TIMESTAMP"]) / 1e6, timezone.utc)
    app = "".join(c for c in text(entry.get("SYSLOG_IDENTIFIER")) if 33 <= ord(c) < 127)[:48] or "-"
    pid = text(entry.get("_PID")) or "-"
    message = text(entry.get("MESSAGE")).replace("\n", " ")
    line = f"<{facility * 8 + severity}>1 {stamp.isoformat()} {HOSTNAME} {app} {pid} - - {message}".encode()
    return str(len(line)).encode() + b" " + line


def connect():
    while True:
        try:
            return socket.create_connection((host, int(port)), timeout=10)
        except OSError:
            time.sleep(1)


def main():
    start = ["--after-cursor", cursor_file.read_text().strip()] if cursor_file.exists() else ["-n", "all"]
    journal = subprocess.Popen(
        ["journalctl", "-f", "-o", "json", *start, conf["journal_match"]], stdout=subprocess.PIPE
    )
    server = connect()
    for raw in journal.stdout:
        entry = json.loads(raw)
        data = frame(entry)
        while True:
            try:
                server.sendall(data)
                break
            except OSError:
                server.close()
                server = connect()
        cursor_file.write_text(entry["__CURSOR"])


main()
'''
HOOKS = (
    "install",
    "config-changed",
    "start",
    "stop",
    "remove",
    "upgrade-charm",
    "leader-elected",
    "leader-settings-changed",
    "logging-relation-created",
    "logging-relation-joined",
    "logging-relation-changed",
    "logging-relation-departed",
    "logging-relation-broken",
)


def write_charm(directory: Path) -> Path:
    """The charm in ``directory/log-shipper``; returns that directory."""
    charm = directory / "log-shipper"
    (charm / "hooks").mkdir(parents=True)
    (charm / "metadata.yaml").write_text(METADATA)
    (charm / "config.yaml").write_text(CONFIG)
    (charm / "shipper.py").write_text(SHIPPER)
    hook = charm / "hooks" / "hook.py"
    hook.write_text(HOOK)
    hook.chmod(0o755)
    for name in HOOKS:
        (charm / "hooks" / name).symlink_to("hook.py")
    return charm
