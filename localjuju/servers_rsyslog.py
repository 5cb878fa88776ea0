"""rsyslog, a syslog server to ship logs to: Debian's rsyslogd, one per unit, receiving syslog
over TCP (imtcp: RFC 5424 octet-counted or LF-framed lines) and UDP (imudp) on its unit's
address (port 5514 and up), writing each message to ``log/<HOSTNAME>/<PROGRAMNAME>.log``
under the unit's directory, where a test reads them.

It has no relation: a log shipper is pointed at it by its own configuration (its unit's
address and port are in ``status``). Nothing of the host's own logging is read: no
``imuxsock`` (/dev/log) nor ``imklog``; rsyslogd's own messages go to ``rsyslogd.log``.
The sender names the file (its HOSTNAME and tag): rsyslog's ``secpath-replace`` keeps a
``/`` or ``..`` in them from leaving the log directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import servers

if TYPE_CHECKING:
    from .agent import Agent
    from .model import Model

BASE_PORT = 5514


def quoted(value: str) -> str:
    """``value`` as a RainerScript string: double-quoted, ``\\`` and ``"`` escaped, control
    characters refused (a config line must stay one line)."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("an rsyslog config value holds a control character")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config(directory: Path, host: str, port: int) -> str:
    """rsyslog.conf for one unit: TCP and UDP inputs on ``host``:``port`` into the ``remote``
    ruleset, which writes one file per sending host and program."""
    per_host = f"{directory}/log/%HOSTNAME:::secpath-replace%/%PROGRAMNAME:::secpath-replace%.log"
    line = "%TIMESTAMP:::date-rfc3339% %HOSTNAME% %syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\\n"
    return "\n".join(
        [
            f'global(workDirectory={quoted(str(directory / "work"))} net.enableDNS="off")',
            'module(load="imtcp")',
            'module(load="imudp")',
            f'template(name="PerHostTag" type="string" string={quoted(per_host)})',
            f'template(name="Line" type="string" string="{line}")',
            'ruleset(name="remote") {',
            '  action(type="omfile" dynaFile="PerHostTag" template="Line"'
            ' dirCreateMode="0755" fileCreateMode="0644")',
            "}",
            f'input(type="imtcp" address={quoted(host)} port="{port}" ruleset="remote")',
            f'input(type="imudp" address={quoted(host)} port="{port}" ruleset="remote")',
            f'action(type="omfile" file={quoted(str(directory / "rsyslogd.log"))})',
            "",
        ]
    )


def log_file(directory: Path, hostname: str, program: str) -> Path:
    """Where the unit in ``directory`` writes what ``hostname`` sent under ``program``."""
    return directory / "log" / hostname / f"{program}.log"


def ensure_running(model: Model, unit: str) -> tuple[str, int]:
    """Start (or, when its config changed, restart) the unit's rsyslogd; its address and port."""
    servers.ensure_packages("rsyslogd", ["rsyslog"])
    port = servers.allocate_port(model, unit, BASE_PORT)
    host = servers.unit_address(model, unit)
    directory = servers.unit_dir(model, unit)
    (directory / "work").mkdir(exist_ok=True)
    (directory / "log").mkdir(exist_ok=True)
    path, pidfile = directory / "rsyslog.conf", directory / "rsyslogd.pid"
    text = config(directory, host, port)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
        servers.run(["rsyslogd", "-N1", "-f", str(path)])  # refuse a config rsyslog refuses
        servers.stop_pid(pidfile)
    if servers.read_pid(pidfile) is None:
        servers.run(["rsyslogd", "-f", str(path), "-i", str(pidfile)])  # it daemonizes
        servers.wait_for_port(port, host=host)
        servers.wait_for_file(pidfile)
    return host, port


def handle(agent: Agent, unit: str, event: dict[str, Any]) -> None:
    """Any event: keep rsyslogd running; the status says where it listens."""
    host, port = ensure_running(agent.model, unit)
    servers.set_status(agent.model, unit, "active", f"receiving syslog on {host}:{port} (tcp, udp)")


def teardown(model: Model, unit: str) -> None:
    servers.stop_pid(servers.unit_dir(model, unit) / "rsyslogd.pid")


def sweep(model_name: str) -> None:
    """Stop any of the model's rsyslogd still running (whatever its state records)."""
    servers.stop_strays(model_name, "rsyslogd")


servers.register(
    servers.ServerKind(
        name="rsyslog",
        charm="rsyslog",
        provides={},
        requires={},
        handle=handle,
        teardown=teardown,
        sweep=sweep,
        description="Debian's rsyslogd, one per unit, receiving syslog over TCP and UDP",
    )
)
