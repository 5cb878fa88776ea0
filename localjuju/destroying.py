"""Destroying a model: what its state records, then whatever of it the host still has
(found by name), so nothing is left even when the state is gone."""

from __future__ import annotations

import shutil

from . import machines, network, servers
from .agent import machine_of
from .model import DEFAULT_MODEL, Model, model_dir, open_model
from .progress import step
from .settling import say, uninterruptible


def forget_if_empty(model_name: str) -> None:
    """Destroy the model when a failed first deploy left it without applications."""
    model = Model.load(model_name)
    if not model.applications and not model.machines:
        destroy(model_name)


def destroy(model_name: str = DEFAULT_MODEL) -> None:
    """Stop every machine and server of the model, unmount and remove its files; then remove
    whatever else of the model the host still has (found by name, also without its state)."""
    directory = model_dir(model_name)
    with step(f"destroying model {model_name}"), uninterruptible():
        if directory.exists():
            _destroy_recorded(model_name)
        servers.sweep(model_name)
        machines.sweep(directory)
        network.teardown(model_name)
        shutil.rmtree(directory, ignore_errors=True)


def _destroy_recorded(model_name: str) -> None:
    """Tear down what the model's state records (an unreadable state is left to the sweep)."""
    try:
        with open_model(model_name) as model:
            servers.teardown(model)
            for number in list(model.machines):
                machine_of(model, number).destroy()
            model.machines.clear()
    except (ValueError, KeyError, TypeError) as error:
        say(f"model state unreadable ({error!r}): removing what is found by name")
