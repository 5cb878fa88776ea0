"""The levers tests pull on a PostgreSQL server application: failing it over to a
standby, withholding or granting a client unit's access, and rotating the passwords of its
``database`` users."""

from __future__ import annotations

from . import servers_postgresql
from .agent import Agent
from .model import DEFAULT_MODEL, Model, open_model
from .progress import step
from .settling import interruptible, say, settle
from .units import add_server_unit


def _postgresql_app(model: Model, app: str) -> None:
    if app not in model.applications or model.applications[app].get("kind") != "server:postgresql":
        raise SystemExit(f'"{app}" is not a postgresql server application')


def failover(app: str, model_name: str = DEFAULT_MODEL) -> str:
    """Promote a standby of server ``app`` (adding one first if there is none); return the new master."""
    with open_model(model_name) as model, interruptible():
        _postgresql_app(model, app)
        if len(model.app_units(app)) < 2:
            add_server_unit(model, app)
            with step(f"adding a standby to {app}"):
                settle(Agent(model, say))
        agent = Agent(model, say)
        with step(f"failing {app} over to its standby"):
            new = servers_postgresql.failover(agent, app)
            settle(agent)
        return new


def set_access(app: str, client_unit: str, granted: bool, model_name: str = DEFAULT_MODEL) -> None:
    """Grant or withhold ``client_unit``'s access (allowed-units/allowed-subnets) on server ``app``."""
    with open_model(model_name) as model:
        _postgresql_app(model, app)
        agent = Agent(model, say)
        servers_postgresql.set_withheld(agent, app, client_unit, withheld=not granted)
        settle(agent)


def rotate_passwords(app: str, model_name: str = DEFAULT_MODEL) -> list[str]:
    """New passwords for every ``database`` relation user of server ``app`` (ALTER ROLE, then
    published: a new revision of each ``secret-user``); returns the users."""
    with open_model(model_name) as model:
        _postgresql_app(model, app)
        agent = Agent(model, say)
        with step(f"rotating the passwords of {app}'s database users"):
            users = servers_postgresql.rotate_passwords(agent, app)
            settle(agent)
        return users
