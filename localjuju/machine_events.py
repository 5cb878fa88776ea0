"""What happens to a unit's machine: a command run on it, a reboot, its sudden death."""

from __future__ import annotations

from typing import Any

from .agent import Agent, machine_of
from .model import DEFAULT_MODEL, Json, Model, open_model
from .progress import step
from .settling import interruptible, say, settle


def machine_unit(model: Model, unit: str) -> Json:
    """The unit's record; refused unless it is a unit on a machine (not a server's)."""
    info = model.units.get(unit)
    if info is None or info["machine"] == "host":
        raise SystemExit(f'"{unit}" is not a unit on a machine')
    return info


def exec_in(unit: str, argv: list[str], model_name: str = DEFAULT_MODEL, capture: bool = False) -> Any:
    """Run ``argv`` as root on ``unit``'s machine; the completed process."""
    model = Model.load(model_name)
    return machine_of(model, model.units[unit]["machine"]).run(argv, check=False, capture=capture)


def reboot(unit: str, model_name: str = DEFAULT_MODEL) -> None:
    """Reboot the unit's machine as Juju sees it: no hook runs at shutdown (the agent just
    exits), and once the agent is back, every unit on the machine runs ``start`` again."""
    with open_model(model_name) as model, interruptible():
        machine_unit(model, unit)
        agent = Agent(model, say)
        with step(f"rebooting the machine of {unit}"):
            agent.reboot(unit)
        with step("running start on the machine's units, as Juju does after a reboot"):
            settle(agent)


def kill_machine(unit: str, model_name: str = DEFAULT_MODEL) -> str:
    """Pull the plug on ``unit``'s machine: no hook runs there, the agents of its units (its
    subordinates' too) are lost, and a leader one held passes to another unit (as when
    Juju's leadership lease lapses). Returns ``unit``'s application's leader afterwards."""
    with open_model(model_name) as model, interruptible():
        info = machine_unit(model, unit)
        with step(f"killing the machine of {unit}"):
            machine_of(model, info["machine"]).kill()
        agent = Agent(model, say)
        for lost in [u for u, d in model.units.items() if d["machine"] == info["machine"]]:
            model.units[lost]["agent"] = "lost"
            model.units[lost]["status"] = {
                "status": "unknown",
                "message": "agent lost, see juju show-status-log",
            }
            if model.applications[model.units[lost]["app"]].get("leader") == lost:
                agent.elect(model.units[lost]["app"])
        settle(agent)
        return str(model.applications[info["app"]].get("leader") or "")
