"""RabbitMQ, as the rabbitmq-server machine charm serves it on ``amqp`` (interface
``rabbitmq``): one Debian ``rabbitmq-server`` node per unit, on the unit's address only
(the host's loopback, port 5672 and up, or the model network's server namespace with
``--isolated``); its Erlang distribution port and epmd on loopback.

Like the charm's ``amqp_changed``: once a client unit has set ``username`` and ``vhost``
in its unit data, the vhost and the user are created (one password per user, kept in the
application's record), the user is granted everything on the vhost, and the unit answers
with ``hostname``, ``private-address`` and ``password`` in its unit data. Before that it
publishes ``hostname`` only. The units are separate nodes, not a cluster: each creates
every user on its own node. Passwords reach ``rabbitmqctl`` on its standard input, never
its command line.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import model as model_module
from . import network, procs, servers

if TYPE_CHECKING:
    from .agent import Agent
    from .model import Json, Model

BASE_PORT = 5672
DIST_OFFSET = 20000  # RabbitMQ's own default: the distribution port is the AMQP port + 20000
SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # not /usr/sbin's wrapper, which drops the env
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
EPMD_TIMEOUT = 10  # seconds for epmd -names / -kill
# what we accept as a username or vhost: never an option of rabbitmqctl, nothing to quote
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")


def node_name(model_name: str, unit: str) -> str:
    """The unit's Erlang node name, unique on the host (models share epmd)."""
    return "lj-" + re.sub(r"[^A-Za-z0-9-]", "-", f"{model_name}-{unit}") + "@localhost"


def environment(directory: Path, node: str, host: str, port: int) -> dict[str, str]:
    """The node's environment: everything under the unit's directory, nothing of /etc/rabbitmq."""
    return {
        "HOME": str(directory / "home"),  # the Erlang cookie, shared by the server and rabbitmqctl
        "RABBITMQ_CONF_ENV_FILE": str(directory / "rabbitmq-env.conf"),
        "RABBITMQ_CONFIG_FILE": str(directory / "rabbitmq.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(directory / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(directory / "mnesia"),
        "RABBITMQ_LOG_BASE": str(directory / "log"),
        "RABBITMQ_PID_FILE": str(directory / "rabbitmq.pid"),
        "RABBITMQ_NODENAME": node,
        "RABBITMQ_NODE_IP_ADDRESS": host,
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(port + DIST_OFFSET),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
    }


def as_rabbitmq(env: dict[str, str], *command: str) -> list[str]:
    """``command`` run as the rabbitmq user with ``env`` (runuser keeps it; env sets it)."""
    return ["runuser", "-u", "rabbitmq", "--", "env", *(f"{k}={v}" for k, v in env.items()), *command]


def prepare_dirs(directory: Path) -> None:
    (directory / "home").mkdir(exist_ok=True)
    (directory / "rabbitmq-env.conf").write_text("")
    (directory / "rabbitmq.conf").write_text("log.console = false\n")
    (directory / "enabled_plugins").write_text("[].\n")  # no management listener
    directory.chmod(0o700)
    directory.parent.chmod(0o755)
    subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(directory)], check=True)


def ctl(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """rabbitmqctl against the unit's node; raise RuntimeError (without ``stdin``) on failure."""
    command = as_rabbitmq(env, CTL, "-q", "-n", env["RABBITMQ_NODENAME"], *args)
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-1000:]
        raise RuntimeError(f"rabbitmqctl {args[0]} failed ({result.returncode}): {detail}")
    return result.stdout


def ensure_running(model: Model, unit: str) -> dict[str, str]:
    """Start the unit's node unless it runs; return its environment."""
    servers.ensure_packages(SERVER, ["rabbitmq-server"])
    port = servers.allocate_port(model, unit, BASE_PORT)
    directory = servers.unit_dir(model, unit)
    env = environment(directory, node_name(model.name, unit), servers.unit_address(model, unit), port)
    if servers.read_pid(directory / "rabbitmq.pid") is None:
        prepare_dirs(directory)
        with open(directory / "server.log", "ab") as log:
            subprocess.Popen(as_rabbitmq(env, SERVER), stdout=log, stderr=log, start_new_session=True)
        servers.wait_for_file(directory / "rabbitmq.pid", timeout=60)
        ctl(env, "await_startup", "--timeout", "120")
    return env


def app_state(model: Model, app: str) -> Json:
    """The application's ``passwords`` by user, kept in the model."""
    record: Json = model.applications[app].setdefault("server", {})
    record.setdefault("passwords", {})
    return record


def requests(model: Model, rel: Json, unit: str) -> list[tuple[str, str]]:
    """The (username, vhost) the client units joined to ``unit`` ask for, valid ones only."""
    found = []
    for client in servers.remote_units(model, rel, unit):
        data = rel["data"].get(client, {})
        username, vhost = str(data.get("username") or ""), str(data.get("vhost") or "")
        if _NAME.match(username) and _NAME.match(vhost) and (username, vhost) not in found:
            found.append((username, vhost))
    return found


def configure(env: dict[str, str], username: str, vhost: str, password: str) -> None:
    """The vhost, the user with ``password``, and every permission of the user on the vhost."""
    if vhost not in ctl(env, "list_vhosts", "name").split():
        ctl(env, "add_vhost", vhost)
    users = [line.split("\t")[0] for line in ctl(env, "list_users").splitlines()]
    ctl(env, "change_password" if username in users else "add_user", username, stdin=password + "\n")
    ctl(env, "set_permissions", "-p", vhost, username, ".*", ".*", ".*")


def handle(agent: Agent, unit: str, event: dict[str, Any]) -> None:
    """Any event: keep the node up, serve every client's request, publish the answers."""
    model = agent.model
    app = model.units[unit]["app"]
    env = ensure_running(model, unit)
    host = servers.unit_address(model, unit)
    passwords: dict[str, str] = app_state(model, app)["passwords"]
    record = servers.state(model, unit).setdefault("configured", [])
    for rid, rel in servers.live_relations(model, app):
        data = {**servers.juju_keys(model, unit), "hostname": host}
        for username, vhost in requests(model, rel, unit):
            password = passwords.setdefault(username, secrets.token_hex(32))
            if [username, vhost] not in record:
                configure(env, username, vhost, password)
                record.append([username, vhost])
            data["password"] = password
        servers.publish(agent, rid, unit, data)
    servers.set_status(model, unit, "active", f"ready ({host}:{env['RABBITMQ_NODE_PORT']})")


def teardown(model: Model, unit: str) -> None:
    directory = servers.unit_dir(model, unit)
    servers.stop_pid(directory / "rabbitmq.pid", timeout=30)
    stop_idle_epmd()


def stop_idle_epmd() -> None:
    """epmd outlives the nodes that started it: stop it once no node is registered. Bounded:
    a wedged epmd is left to the leftover check rather than hanging a teardown."""
    try:
        names = subprocess.run(["epmd", "-names"], capture_output=True, text=True, timeout=EPMD_TIMEOUT)
        if names.returncode == 0 and "name " not in names.stdout:
            subprocess.run(["epmd", "-kill"], capture_output=True, timeout=EPMD_TIMEOUT)
    except subprocess.TimeoutExpired:
        pass


def sweep(model_name: str) -> None:
    """Stop any of the model's nodes still running (the Erlang VM names the unit's directory),
    then the idle epmd they leave, on the host and in the model's server namespace."""
    directory = model_module.model_dir(model_name) / "servers"
    procs.terminate(p.pid for p in procs.under(directory) if "beam" in Path(p.argv[0]).name)
    stop_idle_epmd()
    isolated = network.servers_netns(model_name)
    if network.exists(isolated):  # an --isolated node's epmd runs in there, not on the host
        network.call_in(isolated, stop_idle_epmd)


servers.register(
    servers.ServerKind(
        name="rabbitmq-server",
        charm="rabbitmq-server",
        provides={"amqp": "rabbitmq"},
        requires={},
        handle=handle,
        teardown=teardown,
        sweep=sweep,
        description="Debian's rabbitmq-server, one node per unit (not clustered)",
    )
)
