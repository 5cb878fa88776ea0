"""localjuju runs only the actions the charm defines, with parameters checked as Juju
checks them (``juju run`` reads values as YAML and validates them against the action's
JSON schema in actions.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from localjuju.actions import ActionRefused, checked_params

ACTIONS = yaml.safe_load((Path(__file__).resolve().parents[2] / "actions.yaml").read_text())


def test_a_defined_action_gets_its_typed_params_and_defaults() -> None:
    assert checked_params(ACTIONS, "wsgi-app/0", "logs", {"lines": "20"}) == {"lines": 20, "process": "web"}
    assert checked_params(ACTIONS, "wsgi-app/0", "logs", {"process": "worker"}) == {
        "lines": 100,
        "process": "worker",
    }
    assert checked_params(ACTIONS, "wsgi-app/0", "redeploy", {}) == {}


def test_an_action_the_charm_does_not_define_is_refused() -> None:
    with pytest.raises(ActionRefused, match='action "no-such-action" not defined on unit "wsgi-app/0"'):
        checked_params(ACTIONS, "wsgi-app/0", "no-such-action", {})
    with pytest.raises(ActionRefused, match="not defined"):
        checked_params(None, "wsgi-app/0", "logs", {})  # a charm without actions.yaml


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"lines": "0"}, "less than the minimum"),
        ({"lines": "5001"}, "greater than the maximum"),
        ({"lines": "many"}, "is not of type 'integer'"),
        ({"lines": "10", "colour": "red"}, "Additional properties are not allowed"),
    ],
    ids=["below-minimum", "above-maximum", "wrong-type", "unknown-param"],
)
def test_params_the_schema_rejects_are_refused(params: dict[str, str], words: str) -> None:
    with pytest.raises(ActionRefused, match="validation failed") as refused:
        checked_params(ACTIONS, "wsgi-app/0", "logs", params)
    assert words in str(refused.value)
