"""localjuju's command line: every verb the parser knows has its function, and back."""

from __future__ import annotations

from localjuju import cli


def test_every_verb_of_the_parser_has_a_function() -> None:
    parser = cli.parser()
    verbs: set[str] = set()
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        verbs |= set(action.choices)  # type: ignore[arg-type]
    assert verbs == set(cli.VERBS)


def test_config_without_values_prints_the_settings(monkeypatch, capsys) -> None:
    monkeypatch.setattr(cli.configuring, "get_config", lambda app, m: {"port": 8080, "app_repo": ""})
    assert cli.dispatch(cli.parser().parse_args(["config", "wsgi-app", "port"]), "m") == 0
    assert capsys.readouterr().out == "8080\n"
