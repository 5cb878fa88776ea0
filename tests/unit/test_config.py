from __future__ import annotations

import dataclasses

import pytest

from charms.layer.wsgi_app import validate
from charms.layer.wsgi_app.config import AppConfig, ConfigError, parse_config
from charms.layer.wsgi_app.options import BY_NAME, OPTIONS


def test_defaults_are_valid_and_match_the_declarations():
    config = parse_config({})
    assert config == AppConfig()
    for option in OPTIONS:
        assert option.parse(option.default) == getattr(config, option.name)


def test_the_options_are_the_config_fields_in_order():
    assert [field.name for field in dataclasses.fields(AppConfig)] == [option.name for option in OPTIONS]
    assert BY_NAME["port"].juju_type == "int" and BY_NAME["port"].default == 8080
    assert BY_NAME["environment"].juju_type == "string" and AppConfig().environment == {}


def test_the_deploy_key_stays_out_of_the_repr():
    config = dataclasses.replace(AppConfig(), deploy_key="-----BEGIN OPENSSH PRIVATE KEY-----")
    assert "deploy_key" not in repr(config) and "PRIVATE" not in repr(config)
    assert "known_hosts=" in repr(config)


def test_null_values_take_the_default():
    assert parse_config({"port": None, "app_repo": None}).port == 8080


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("app_repo", "ext::sh%20-c%20touch", "not allowed"),
        ("app_repo", "--upload-pack=touch /tmp/x", "must not start with '-'"),
        ("app_repo", "https://example.org/a b.git", "spaces"),
        ("app_repo", "ftp://example.org/x.git", ""),
        ("app_ref", "main..evil", "not a valid"),
        ("app_ref", "-rf", ""),
        ("wsgi_app", "os.system('x')", "module.path:callable"),
        ("environment", "NOT A LINE", "KEY=value"),
        ("environment", "1BAD=x", "not a valid name"),
        ("environment", "SECRET_KEY=mine", "set by the charm"),
        ("environment", "PORT=1", "set by the charm"),
        ("environment", "WSGI_APP_SETTING_NAMES=PGPASSWORD", "set by the charm"),
        ("port", 80, "outside 1024-65535"),
        ("access_log_format", "%(h)s\n%(s)s", "one line"),
        ("access_log_format", "%(nope)s", "unknown atom %(nope)s"),
        ("access_log_format", "%({X-Forwarded-For}i)s", "lower-case"),
        ("access_log_format", "100% %(s)s", "'%' must start an atom"),
        ("access_log_format", "%(s)d", "'%' must start an atom"),
        ("statsd_host", "statsd.example.org", "host:port"),
        ("statsd_host", "10.0.0.9:0", "outside 1-65535"),
        ("statsd_host", "a;b:8125", "host:port"),
        ("metrics_port", 80, "outside 1024-65535"),
        ("port", "http", "not a whole number"),
        ("workers", -1, "outside"),
        ("worker_class", "eventlet", "not one of"),
        ("threads", True, "whole number"),
        ("python_packages", "--index-url=http://evil flask", ""),
        ("python_packages", "git+https://x/y.git", ""),
        ("apt_packages", "libpq5; rm -rf /", ""),
        ("health_check_path", "healthz", "absolute path"),
        ("health_check_path", "/a b", "absolute path"),
        ("keep_releases", 0, "outside"),
        ("memory_max", "75", "a size such as 512M"),
        ("memory_max", "150%", "a percentage"),
        ("memory_max", "1G\nExecStartPre=/bin/sh", "a size"),
        ("memory_max", "-1G", "a size"),
        ("memory_max", "63M", "below 64M"),
        ("tasks_max", 10, "outside"),
    ],
)
def test_bad_values_are_refused_with_the_option_named(option, value, fragment):
    with pytest.raises(ConfigError) as caught:
        parse_config({option: value})
    assert caught.value.problems[0][0] == option
    assert fragment in caught.value.problems[0][1]
    assert caught.value.summary.startswith(f"invalid config {option}: ")


def test_every_problem_is_reported_and_summarised():
    with pytest.raises(ConfigError) as caught:
        parse_config({"port": 1, "workers": -5})
    assert [option for option, _ in caught.value.problems] == ["port", "workers"]
    assert caught.value.summary.endswith("(and 1 more)")


def test_environment_lines_are_parsed_with_comments_and_equals_in_values():
    config = parse_config({"environment": "# comment\n\nA=1\nURL=postgres://u:p@h/d?x=y\n  B = two words \n"})
    assert dict(config.environment) == {"A": "1", "URL": "postgres://u:p@h/d?x=y", "B": "two words"}


def test_accepted_repository_urls():
    for url in (
        "https://github.com/org/app.git",
        "ssh://git@host:2222/org/app.git",
        "git@github.com:org/app.git",
        "git://host/app",
        "file:///srv/git/app.git",
    ):
        assert parse_config({"app_repo": url}).app_repo == url


@pytest.mark.parametrize(
    "url",
    [
        "https://alice:ghp_s3cr3tT0ken@github.com/org/app.git",
        "https://ghp_s3cr3tT0ken@github.com/org/app.git",  # a token as the user name
        "https://x-access-token:s3cr3t@host/app.git",
        "git://user:s3cr3t@host/app",
        "ssh://git:s3cr3t@host/org/app.git",
    ],
)
def test_credentials_in_the_repository_url_are_refused_and_never_repeated(url):
    with pytest.raises(ConfigError) as caught:
        parse_config({"app_repo": url})
    option, message = caught.value.problems[0]
    assert option == "app_repo" and "credentials" in message and "deploy_key" in message
    assert "s3cr3t" not in str(caught.value) and "s3cr3t" not in caught.value.summary


def test_memory_max_takes_sizes_percentages_and_infinity():
    for size in ("64M", "512M", "2G", "1T", "1%", "75%", "100%", "infinity"):
        assert parse_config({"memory_max": size}).memory_max == size


def test_packages_are_split():
    config = parse_config(
        {"python_packages": "sentry-sdk==2.* whitenoise[brotli]>=6", "apt_packages": "libpq5 gettext"}
    )
    assert config.python_packages == ("sentry-sdk==2.*", "whitenoise[brotli]>=6")
    assert config.apt_packages == ("libpq5", "gettext")


def test_access_log_format_takes_gunicorn_atoms_and_empty_is_the_default():
    custom = '%(h)s "%(r)s" %(s)s %(M)sms %({x-request-id}i)s %({HOME}e)s 100%%'
    assert parse_config({"access_log_format": custom}).access_log_format == custom
    assert parse_config({"access_log_format": ""}).access_log_format == AppConfig().access_log_format
    default = AppConfig().access_log_format
    for atom in ("h", "m", "U", "q", "s", "B", "D", "a", "{x-forwarded-for}i"):
        assert f"%({atom})s" in default


def test_statsd_host_and_metrics_port():
    config = parse_config({"statsd_host": "[2001:db8::9]:8125", "metrics_port": 9102})
    assert config.statsd_host == "[2001:db8::9]:8125" and config.metrics_port == 9102
    with pytest.raises(ConfigError) as error:
        parse_config({"metrics_port": 8080})
    assert error.value.summary == "invalid config metrics_port: must differ from port (8080)"


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("citext", ("citext",)),
        ("citext, hstore(extensions)", ("citext", "hstore(extensions)")),
        ("hstore:extensions", ("hstore(extensions)",)),  # the old form, in the classic charm's
        ("uuid-ossp", ("uuid-ossp",)),
    ],
)
def test_database_extensions_are_sent_as_the_classic_charm_parses_them(given, sent):
    assert validate.database_extensions(given) == sent


@pytest.mark.parametrize("bad", ["a(b", "a(b c)", "a(b);DROP", "a:b:c", "(x)"])
def test_database_extensions_refuse_anything_else(bad):
    with pytest.raises(ValueError):
        validate.database_extensions(bad)


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("False", False),
        (" yes ", True),
        ("0", False),
        ("off", False),
    ],
)
def test_boolean_options_take_juju_booleans_and_their_usual_spellings(raw, parsed):
    assert parse_config({"django_collectstatic": raw}).django_collectstatic is parsed
    assert AppConfig().django_collectstatic is True and AppConfig().django_production_settings is True


@pytest.mark.parametrize("raw", ["", "maybe", 2])
def test_a_boolean_option_that_is_neither_blocks(raw):
    with pytest.raises(ConfigError, match="django_production_settings"):
        parse_config({"django_production_settings": raw})
