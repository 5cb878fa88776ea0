"""The options naming user secrets: what a secret's content becomes (settings, the deploy
key), what is refused, and that no message ever quotes a value."""

from __future__ import annotations

from dataclasses import replace

import pytest

from charms.layer.wsgi_app.config import ConfigError, parse_config
from charms.layer.wsgi_app.environment import app_settings, redact
from charms.layer.wsgi_app.juju_secrets import SecretError
from charms.layer.wsgi_app.logs import secret_values
from charms.layer.wsgi_app.secret_options import named_uris, resolve, setting_name, settings_of
from charms.layer.wsgi_app.state import build_state

URI = "secret:d3q1v5hmp25c7e2rlktg"
KEY_URI = "secret:d3q1v5hmp25c7e2rlkuh"
VALUE = "sk_live_0123456789abcdef"
PRIVATE_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
)
SSH = {"app_repo": "git@git.example.org:shop.git", "known_hosts": "git.example.org ssh-ed25519 AAAAC3Nz"}


@pytest.mark.parametrize(
    ("key", "name"), [("stripe-api-key", "STRIPE_API_KEY"), ("greeting", "GREETING"), ("s3-url", "S3_URL")]
)
def test_a_secret_key_becomes_the_setting_of_the_same_words(key, name):
    assert setting_name(key) == name


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ({"Stripe": VALUE}, "'Stripe' is not a Juju secret key"),
        ({"a--b": VALUE}, "'a--b' is not a Juju secret key"),
        ({"secret-key": VALUE}, "key secret-key would set SECRET_KEY, which the charm sets"),
        ({"port": "80"}, "key port would set PORT, which the charm sets"),
        ({"motd": "two\nlines"}, "the value of motd is not one line"),
    ],
)
def test_bad_keys_and_values_are_refused_without_quoting_a_value(content, problem):
    with pytest.raises(ValueError, match=problem) as raised:
        settings_of(content)
    assert VALUE not in str(raised.value) and "two" not in str(raised.value)


def test_a_value_read_from_a_file_loses_its_last_newline_only():
    assert settings_of({"token": " abc \n"}) == {"TOKEN": " abc "}


def test_the_options_take_a_secret_uri_and_nothing_else_of_that_shape():
    config = parse_config({"environment_secret": f" {URI} ", "deploy_key": KEY_URI, **SSH})
    assert (config.environment_secret, config.deploy_key) == (URI, KEY_URI)
    with pytest.raises(ConfigError, match="environment_secret: expected a Juju secret URI"):
        parse_config({"environment_secret": "stripe-api-key=x"})
    with pytest.raises(ConfigError, match="deploy_key: expected a Juju secret URI"):
        parse_config({"deploy_key": "secret:--peek", **SSH})
    assert named_uris({"environment_secret": URI, "deploy_key": PRIVATE_KEY}) == {URI}


def test_resolve_reads_each_named_secret_into_settings_and_the_deploy_key():
    contents = {URI: {"stripe-api-key": VALUE}, KEY_URI: {"private-key": PRIVATE_KEY}}
    config = parse_config({"environment_secret": URI, "deploy_key": KEY_URI, **SSH})
    resolved, settings = resolve(config, contents.__getitem__)
    assert settings == {"STRIPE_API_KEY": VALUE}
    assert resolved.deploy_key == PRIVATE_KEY and resolved == replace(config, deploy_key=PRIVATE_KEY)
    assert PRIVATE_KEY not in repr(resolved)  # deploy_key stays out of the config's repr


def test_an_unreadable_or_unfit_secret_names_its_option_never_its_value():
    def read(uri: str) -> dict[str, str]:
        if uri == URI:
            raise SecretError("secret-get: permission denied")
        return {"ssh-key": PRIVATE_KEY}

    config = parse_config({"environment_secret": URI, "deploy_key": KEY_URI, **SSH})
    with pytest.raises(ConfigError) as raised:
        resolve(config, read)
    assert raised.value.problems == [
        (
            "environment_secret",
            f"secret {URI}: secret-get: permission denied (granted? juju grant-secret <name> <application>)",
        ),
        ("deploy_key", f"secret {KEY_URI}: the secret has no private-key key"),
    ]
    assert raised.value.summary.startswith("invalid config environment_secret: secret")


def test_settings_from_a_secret_override_environment_and_are_redacted_everywhere(machine):
    state = build_state(
        "shop",
        {"environment": "GREETING=plain\nSHOWN=yes", "environment_secret": URI},
        {"secret_key": "k" * 50},
        machine,
        read_secret=lambda uri: {"greeting": "from the secret", "stripe-api-key": VALUE},
    )
    settings = app_settings(state)
    assert settings["GREETING"] == "from the secret" and settings["STRIPE_API_KEY"] == VALUE
    shown = redact(settings)
    assert shown["GREETING"] == shown["STRIPE_API_KEY"] == "<redacted>" and shown["SHOWN"] == "yes"
    assert {"from the secret", VALUE} <= set(secret_values(settings))
    # a value on disk under a name a secret gave is hidden too (the settings before a rotation)
    assert "older value" in secret_values(settings, {"GREETING": "older value"})


def test_without_a_reader_a_named_secret_is_a_config_problem(machine):
    with pytest.raises(ConfigError, match=r"environment_secret: secret .*: not read"):
        build_state("shop", {"environment_secret": URI}, {}, machine)
