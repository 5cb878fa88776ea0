"""The names the application answers to: the hostnames option, the machine's own addresses
(read from the kernel's tables), and ALLOWED_HOSTS / DJANGO_ALLOWED_HOSTS / CSRF_TRUSTED_ORIGINS."""

from __future__ import annotations

from dataclasses import replace

import pytest

from charms.layer.wsgi_app import addresses, validate
from charms.layer.wsgi_app.config import ConfigError, parse_config
from charms.layer.wsgi_app.environment import app_settings, host_settings
from charms.layer.wsgi_app.integrations import Integrations


@pytest.mark.parametrize(
    ("given", "parsed"),
    [
        ("", ()),
        ("   ", ()),
        ("example.com", ("example.com",)),
        ("Shop.Example.COM.", ("shop.example.com",)),  # case and the root's dot dropped
        ("a.example.com b.example.com", ("a.example.com", "b.example.com")),
        ("a.example.com,b.example.com", ("a.example.com", "b.example.com")),
        ("a.example.com, b.example.com\nc.example.com", ("a.example.com", "b.example.com", "c.example.com")),
        ("a.example.com a.example.com A.example.com", ("a.example.com",)),
        (".example.com", (".example.com",)),  # the domain and every subdomain (Django's form)
        ("localhost", ("localhost",)),
        ("xn--bcher-kva.example", ("xn--bcher-kva.example",)),
        ("10.0.0.5", ("10.0.0.5",)),
        ("fd00::5", ("[fd00::5]",)),
        ("[FD00:0::5]", ("[fd00::5]",)),
        ("1-2-3.example.com", ("1-2-3.example.com",)),
    ],
)
def test_hostnames_accepts_names_and_addresses(given, parsed):
    assert validate.hostnames(given) == parsed


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("example.com:8443", "no port"),
        ("https://example.com", "no port, scheme or path"),
        ("example.com/admin", "no port, scheme or path"),
        ("*", "not a host name"),
        ("*.example.com", "not a host name"),  # Django's form is .example.com
        ("exa_mple.com", "not a host name"),  # Django refuses underscores in Host
        ("-example.com", "not a host name"),
        ("example-.com", "not a host name"),
        ("a..example.com", "not a host name"),
        ("ex ample.com\x00", "not a host name"),
        ("example.com;rm -rf /", "not a host name"),
        ('"example.com"', "not a host name"),
        ("ex$(id).com", "not a host name"),
        ("é.example.com", "not a host name"),  # IDNs in their xn-- form
        ("a" * 64 + ".example.com", "not a host name"),
        (".".join(["abcdefgh"] * 30), "not a host name"),  # > 253 characters
        ("999.1.1.1", "neither an IP address nor a domain name"),
        ("10.0.0", "neither an IP address nor a domain name"),
        (".com.", "neither an IP address nor a domain name"),
        ("fe80::1%eth0", "zoned"),
        (" ".join(f"h{n}.example.com" for n in range(65)), "more than 64"),
    ],
)
def test_hostnames_refuses_anything_else(given, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(")) as raised:
        validate.hostnames(given)
    assert "\x00" not in str(raised.value)


def test_a_bad_hostname_blocks_with_the_option_named():
    with pytest.raises(ConfigError) as raised:
        parse_config({"hostnames": "shop.example.com evil.example.com:80"})
    assert raised.value.problems[0][0] == "hostnames"
    assert "evil.example.com:80" in raised.value.summary


@pytest.mark.parametrize(
    ("hostnames", "machine", "proxies", "allowed", "origins"),
    [
        ((), (), (), "localhost,127.0.0.1,[::1]", None),
        (
            ("shop.example.com",),
            ("10.0.0.3",),
            (),
            "shop.example.com,localhost,127.0.0.1,[::1],10.0.0.3",
            "https://shop.example.com,http://shop.example.com",
        ),
        (
            (".example.com", "[fd00::1]", "192.0.2.10"),
            ("10.0.0.3", "fd00::3"),
            ("10.0.0.2", "fd00::2"),
            ".example.com,[fd00::1],192.0.2.10,localhost,127.0.0.1,[::1],10.0.0.3,[fd00::3],10.0.0.2,[fd00::2]",
            "https://*.example.com,http://*.example.com,https://[fd00::1],http://[fd00::1],"
            "https://192.0.2.10,http://192.0.2.10",
        ),
        # a name given twice (a public address that is also the machine's) is listed once
        (("10.0.0.3",), ("10.0.0.3",), ("10.0.0.3",), "10.0.0.3,localhost,127.0.0.1,[::1]", None),
    ],
)
def test_host_settings(hostnames, machine, proxies, allowed, origins):
    settings = host_settings(hostnames, machine, proxies)
    assert settings["ALLOWED_HOSTS"] == allowed
    assert settings["DJANGO_ALLOWED_HOSTS"] == allowed
    if hostnames and origins is None:
        origins = ",".join(f"{s}://{hostnames[0]}" for s in ("https", "http"))
    assert settings.get("CSRF_TRUSTED_ORIGINS") == origins


def test_app_settings_read_hostnames_from_config_and_addresses_from_the_machine(demo_state):
    state = replace(
        demo_state,
        config=parse_config({"hostnames": "shop.example.com"}),
        machine=replace(demo_state.machine, addresses=("10.1.2.3",)),
        integrations=Integrations(proxies=("10.1.2.9",)),
    )
    settings = app_settings(state)
    assert settings["DJANGO_ALLOWED_HOSTS"] == "shop.example.com,localhost,127.0.0.1,[::1],10.1.2.3,10.1.2.9"
    assert settings["CSRF_TRUSTED_ORIGINS"] == "https://shop.example.com,http://shop.example.com"


def test_environment_may_override_the_allowed_hosts(demo_state):
    state = replace(demo_state, config=parse_config({"environment": "ALLOWED_HOSTS=*"}))
    assert app_settings(state)["ALLOWED_HOSTS"] == "*"
    assert app_settings(state)["DJANGO_ALLOWED_HOSTS"] == "localhost,127.0.0.1,[::1]"


FIB_TRIE = """\
Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 10.231.0.0/24 2 0 2
           |-- 10.231.0.0
              /24 link UNICAST
           |-- 10.231.0.11
              /32 host LOCAL
        |-- 10.231.0.255
           /32 link BROADCAST
     |-- 169.254.3.4
        /32 host LOCAL
Local:
  +-- 0.0.0.0/0 3 0 5
           |-- 10.231.0.11
              /32 host LOCAL
           |-- 192.168.7.1
              /32 host LOCAL
"""
IF_INET6 = """\
00000000000000000000000000000001 01 80 10 80       lo
fe8000000000000000fc00fffe000001 04 40 20 80     eth0
fd000000000000000000000000000002 04 40 00 82     eth0
20010db8000000000000000000000010 05 40 00 80     eth1
garbage line
"""


def test_machine_addresses_from_the_kernels_tables():
    found = addresses.usable(addresses.ipv4_local(FIB_TRIE) | addresses.ipv6_global(IF_INET6))
    # loopback, link-local, broadcast and network addresses left out; IPv4 first, sorted
    assert found == ("10.231.0.11", "192.168.7.1", "2001:db8::10", "fd00::2")


def test_machine_addresses_without_the_kernels_tables(tmp_path, monkeypatch):
    monkeypatch.setattr(addresses, "FIB_TRIE", tmp_path / "missing")
    monkeypatch.setattr(addresses, "IF_INET6", tmp_path / "missing6")
    assert addresses.machine_addresses() == ()


def test_unusable_text_in_the_tables_is_dropped():
    assert addresses.usable({"10.0.0.1", "not-an-ip", "0.0.0.0", "::", "::1", "fe80::1"}) == ("10.0.0.1",)


def test_the_hooks_state_carries_the_machines_addresses(monkeypatch):
    """read_state builds the machine facts once; the addresses come with them."""
    from charms.layer.wsgi_app import state

    monkeypatch.setattr(addresses, "machine_addresses", lambda: ("10.9.9.9",))
    assert state.machine_facts().addresses == ("10.9.9.9",)
