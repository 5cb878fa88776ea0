"""Fuzz: hundreds of adversarial config values through the real hooks of a serving unit.

Each round sets several options at once to generated hostile values, runs the real
config-changed hook, checks the unit, then restores the options. Values that reach the
network or run commands by design (a valid app_repo, packages, release_command) are
never generated valid: the point is what the charm does with input it must refuse.
Asserts: no hook error, refused values leave the unit `blocked` naming the option, the
demo keeps serving throughout, environment values reach the app byte for byte, no file
is written outside the charm's and the app's directories, and SECRET_KEY is never logged.
"""

from __future__ import annotations

import random
import re
import string
from pathlib import Path

import pytest
from localmodel import APP, SOAK, LocalModel, http_get, report

PORT = 8092  # not 8080: this module runs beside the loopback lane (tools/run_e2e.py)
URL = f"http://127.0.0.1:{PORT}"
SEED = 20261125
VALUES = 1040 if SOAK else 520  # make soak: twice as many, the same seed
PER_ROUND = 8

NASTY = [
    "\n",
    "\r\n",
    "\x01",
    "\x1b[31m",
    "$(touch /tmp/owned)",
    "`id`",
    "'; rm -rf / #",
    '"',
    "\\",
    "${HOME}",
    "%s%n",
    "../../../../etc/passwd",
    "--upload-pack=touch /tmp/owned",
    "-oProxyCommand=sh",
    "ext::sh -c touch% /tmp/owned",
    "é中\u202e",
    " ",
    "{{ 7*7 }}",
    "{% raw %}",
    # address-like and encoded pieces: IP literals of other notations, zones, percent-encoding
    "fe80::1%'",
    "0x7f000001",
    "[::ffff:127.0.0.1]",
    "%0a%0d",
    "%25",
    "\u0661\u0662\u0667",
    "A" * 4096,
]
# options that act on the world when valid are only given values they must refuse
MUST_REFUSE = {
    "app_repo": [
        "-u",
        "ext::sh -c id",
        "https://exa mple.org/x",
        "file:///x\ny",
        "--upload-pack=id",
        "fd::3",
        "https://deploy:tok3n-s3cret@example.org/x.git",
    ],
    "python_packages": ["-e /", "--index-url=http://evil", "pkg; rm", "a\nb"],
    "apt_packages": ["-o APT::x", "pkg; rm", "../x", "a\nb", "UPPER"],
    "app_ref": ["--orphan", "a..b", "-x", "ref with space", "a\nb", "@{-1}"],
    "wsgi_app": ["os:system('id')", "a b:c", "-m:x", "x:y\nz"],
    "port": ["0", "-1", "65536", "9223372036854775807", "80"],
    "workers": ["-1", "100000"],
    "threads": ["-3", "4096"],
    "timeout": ["-1", "0", "9" * 18],
    "max_requests": ["-5", "-2000000"],
    "keep_releases": ["0", "-2"],
    "worker_class": ["eventlet; rm", "../sync", "sync\nx", "gevent"],
    "log_level": ["loud", "info\nerror", ""],
    "health_check_path": ["no-slash", "/\n", "http://elsewhere/", "/a b"],
    "hostnames": ["shop.example.com:80", "*", "x;y.example.com", "http://x/", "a_b.example.com", "$(id).com"],
    "procfile": [
        "web",
        "web: a\nweb: b",
        "web:\n",
        ": run",
        "w.e.b: run",
        "web: a\x1bb",
        "web: a\rrelease: b",
    ],
    "database_name": ["a;b", "x\ny", "-d", "'quoted'"],
    "database_roles": ["r;DROP", "a b", "x\ny"],
    "database_extensions": ["plpgsql;DROP", "a b"],
    "memory_max": ["75", "-5G", "lots", "150%", "1G\nExecStartPre=/bin/sh", "1M"],
    "tasks_max": ["10", "-1"],
    "release_command_timeout": ["5", "-1", "86401"],
    "environment": ["NO_EQUALS", "1BAD=x", "BAD KEY=x", "PORT=1", "SECRET_KEY=mine", "A=b\nSECRET_KEY=x"],
}
# Juju itself refuses a non-integer for an int option, so those only get integers
INTEGERS = {"port", "workers", "threads", "timeout", "max_requests", "keep_releases", "tasks_max"}
INTEGERS |= {"release_command_timeout"}
DEFAULTS = {"port": str(PORT), "workers": "0", "threads": "0", "timeout": "30", "max_requests": "2000"}
DEFAULTS |= {"keep_releases": "3", "worker_class": "gthread", "log_level": "info", "health_check_path": ""}
DEFAULTS |= {"memory_max": "75%", "tasks_max": "4096", "release_command_timeout": "1800"}
WRITABLE = (f"/srv/{APP}/", f"/etc/{APP}/", "/var/lib/juju/", "/var/log/", "/var/lib/systemd/", "/var/cache/")
# the charm's own units: a handover rewrites the socket unit (it names the serving slot)
OWN_UNITS = {f"/etc/systemd/system/{APP}{unit}" for unit in (".socket", "@.service", "-check@.socket")}


def hostile(rng: random.Random) -> str:
    """A short string built from the pieces above and random printable noise."""
    parts = [rng.choice(NASTY) for _ in range(rng.randint(1, 3))]
    parts.append("".join(rng.choice(string.printable) for _ in range(rng.randint(0, 12))))
    rng.shuffle(parts)
    return "".join(parts)


def refused_value(rng: random.Random, option: str) -> str:
    base = rng.choice(MUST_REFUSE[option])
    if rng.random() < 0.5 or option in INTEGERS | {"log_level"}:
        return base
    return base + rng.choice(["\n", "\t", "\x7f", " x"])


def safe_environment_value(rng: random.Random) -> str:
    """A value the app must receive exactly: anything printable, no newline or NUL."""
    value = hostile(rng)
    return "".join(ch for ch in value if ch.isprintable() and ch != "#").strip() or "x"


@pytest.fixture(scope="module")
def demo(model: LocalModel, charm: Path) -> LocalModel:
    model.cli("deploy", str(charm), "--config", f"port={PORT}")
    model.sh("touch /run/fuzz-start && sleep 1")
    return model


def test_adversarial_config_never_breaks_the_unit(demo: LocalModel) -> None:
    rng = random.Random(SEED)
    secret = demo.settings()["SECRET_KEY"]
    tried = 0
    while tried < VALUES:
        options = rng.sample(sorted(MUST_REFUSE), 3)
        bad = {option: refused_value(rng, option) for option in options}
        demo.config(**bad)
        unit = demo.unit()
        assert unit["agent-status"] == "idle", (bad, unit)
        assert unit["workload-status"] == "blocked", (bad, unit)
        assert "invalid config" in unit["message"] and any(o in unit["message"] for o in bad), (bad, unit)
        assert http_get(f"{URL}/healthz").json()["status"] == "ok", bad
        tried += len(bad)

        # values the app must get exactly, however hostile
        greeting, note = safe_environment_value(rng), safe_environment_value(rng)
        environment = f"GREETING={greeting}\nDEMO_NOTE={note}"
        demo.config(**({o: DEFAULTS.get(o, "") for o in options} | {"environment": environment}))
        unit = demo.unit()
        assert unit["workload-status"] == "active", (environment, unit)
        assert http_get(f"{URL}/env?GREETING").json()["value"] == greeting
        assert http_get(f"{URL}/env?DEMO_NOTE").json()["value"] == note
        tried += 2
    report(f"fuzz: {tried} adversarial config values, seed {SEED}")

    stray = [
        path
        for path in demo.sh("find / -xdev -newer /run/fuzz-start -type f 2>/dev/null").split("\n")
        if path and not path.startswith(WRITABLE) and path not in OWN_UNITS
    ]
    assert stray == [], stray
    assert not demo.sh("ls /tmp/owned 2>/dev/null || true").strip()
    log = demo.cli("debug-log", "--replay").stdout
    assert secret not in log
    assert "tok3n-s3cret" not in log  # an app_repo's credentials are refused, never repeated
    assert demo.unit()["workload-status"] == "active"


RELATION_VALUES = 300 if SOAK else 150
ENV_LINE = re.compile(r'[A-Za-z_][A-Za-z0-9_]*="(?:[^"\\`$\n]|\\.)*"\Z')  # as settings_file.encode writes


# addresses an address parser accepts or nearly accepts, each carrying something else:
# IP literals of every notation, zones, unicode digits, quotes, percent-encoding,
# newlines and very long values (the charm keeps only plain, canonical addresses)
ADDRESS_CLASSES = [
    "fe80::1%eth0",
    "fe80::1%'; import os #",
    'fe80::1%"\nMEMCACHE_SERVERS=evil:1',
    "[::1]",
    "::ffff:127.0.0.1",
    "127.1",
    "0x7f000001",
    "0177.0.0.1",
    "2130706433",
    "127.0.0.1%0a",
    "127.0.0.1\n127.0.0.2",
    "\u0661\u0662\u0667.\u0660.\u0660.\u0661",  # Arabic-Indic digits
    "exämple.org",
    "db'.example",
    "a" * 4000,
    ("1." * 2000)[:-1],
]


def hostile_relation_value(rng: random.Random, key: str) -> str:
    if key == "port" and rng.random() < 0.5:
        return rng.choice(["0", "-1", "65536", "1e3", "11211\nMEMCACHE_SERVERS=evil:1", "0x2bcb", " 11211"])
    if key != "port" and rng.random() < 0.5:
        return rng.choice(ADDRESS_CLASSES) + rng.choice(["", "", " ", "%", "'", "\n"])
    return hostile(rng).replace("\x00", "")


def test_adversarial_relation_data_never_breaks_the_unit(demo: LocalModel) -> None:
    """A memcached unit that publishes garbage: skipped and logged, never a hook error,
    never a line injected into the settings file, and the app keeps serving."""
    rng = random.Random(SEED + 1)
    demo.cli("deploy", "memcached")
    demo.cli("relate", "wsgi-app:cache", "memcached:cache")
    rid = next(rel["id"] for rel in demo.status()["relations"] if "memcached:cache" in rel["endpoints"])
    good = {"host": "127.0.0.1", "port": demo.settings()["MEMCACHE_SERVERS"].rsplit(":", 1)[1]}
    tried = 0
    while tried < RELATION_VALUES:
        keys = rng.sample(["host", "port", "udp-port", "private-address", "ingress-address"], 3)
        data = {key: hostile_relation_value(rng, key) or "x" for key in keys}
        demo.cli("set-relation-data", rid, "memcached/0", *(f"{k}={v}" for k, v in data.items()))
        unit = demo.unit()
        assert unit["agent-status"] == "idle" and unit["workload-status"] != "error", (data, unit)
        lines = [line for line in demo.sh(f"cat /etc/{APP}/settings.env").splitlines() if line[:1] != "#"]
        assert all(ENV_LINE.match(line) for line in lines), (data, lines)
        servers = dict(line.partition("=")[::2] for line in lines).get("MEMCACHE_SERVERS", '""')
        assert re.fullmatch(r'"[A-Za-z0-9.:,\[\]-]*"', servers), (data, servers)
        assert http_get(f"{URL}/env?APP_NAME").json()["value"] == APP
        tried += len(data)
    report(f"fuzz: {tried} adversarial relation values, seed {SEED + 1}")
    demo.cli("set-relation-data", rid, "memcached/0", "--replace", *(f"{k}={v}" for k, v in good.items()))
    assert demo.unit()["workload-status"] == "active"
    assert http_get(f"{URL}/healthz").json()["backends"]["cache"]["ok"] is True
