"""Parsers for config values: each converts a raw Juju value or raises ``ValueError``.

The message of the error names what is wrong in words an operator can act on; the
caller prefixes the option name. Everything here is pure and strict: a value that
could reach a command line, a systemd unit or the settings file is checked against
the narrow shape it is allowed to have.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

# Settings the charm owns: an operator cannot override them through `environment`.
RESERVED_SETTINGS = frozenset(
    {
        "PORT",
        "WEB_CONCURRENCY",
        "SECRET_KEY",
        "APP_NAME",
        "APP_UNIT",
        "APP_DATA_DIR",
        # These would change how systemd and gunicorn start the process itself.
        "GUNICORN_CMD_ARGS",
        "WSGI_APP_SETTING_NAMES",  # gunicorn.conf.py's record of what it loaded
        "WSGI_APP_SLOT",  # which slot's release gunicorn.conf.py loads
        "RUNTIME_DIRECTORY",
        "LISTEN_FDS",
        "LISTEN_PID",
        "LISTEN_FDNAMES",
        "NOTIFY_SOCKET",
        "PATH",
        "VIRTUAL_ENV",
        "PYTHONHOME",
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        # the Django settings overlay's (a release sets them, see django.py)
        "WSGI_APP_DJANGO_SETTINGS",
        "WSGI_APP_STATIC_ROOT",
    }
)

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SETTING_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]"
_URL = re.compile(
    rf"(?P<scheme>https|ssh|git)://(?:(?P<userinfo>[A-Za-z0-9._~%!$&'()*+,;=:-]+)@)?(?P<host>{_HOST})"
    r"(?::\d{1,5})?(?P<path>/[^\s]*)?\Z"
)
_SCP = re.compile(rf"(?:[A-Za-z0-9._-]+@)?(?P<host>{_HOST}):(?P<path>[^\s]+)\Z")
_FILE = re.compile(r"file:///[^\s]*\Z")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_ENTRY_POINT = re.compile(rf"{_IDENT}(?:\.{_IDENT})*(?::{_IDENT}(?:\(\))?)?\Z")
_REQUIREMENT = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"  # name
    r"(?:\[[A-Za-z0-9._-]+(?:,[A-Za-z0-9._-]+)*\])?"  # extras
    r"(?:(?:===|==|!=|~=|>=|<=|<|>)[A-Za-z0-9.*+!_-]+"  # first version clause
    r"(?:,(?:===|==|!=|~=|>=|<=|<|>)[A-Za-z0-9.*+!_-]+)*)?\Z"
)
_APT_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+(?:=[A-Za-z0-9.+~:-]+)?\Z")
_HEX = re.compile(r"[0-9a-fA-F]{7,40}\Z")


def _no_control(value: str, what: str) -> None:
    if _CONTROL.search(value):
        raise ValueError(f"{what} contains a control character")


def repo_url(value: Any) -> str:
    """A git URL of an allowed kind: https, ssh (URL or scp-like), git or file."""
    url = str(value or "").strip()
    if not url:
        return ""
    _no_control(url, "the URL")
    if url.startswith("-"):
        raise ValueError("the URL must not start with '-'")
    if re.search(r"\s", url):
        raise ValueError("the URL must not contain spaces")
    if "::" in url.split("/", 1)[0]:
        raise ValueError("git remote helpers such as ext:: are not allowed")
    if _FILE.match(url):
        return url
    match = _URL.match(url)
    if match is None and "://" not in url:
        match = _SCP.match(url)
    if match is None:
        raise ValueError("expected an https://, ssh://, git://, file:// or user@host:path URL")
    _no_credentials(match)
    path = match.group("path") or ""
    if path.lstrip("/").startswith("-"):
        raise ValueError("the repository path must not start with '-'")
    return url


def _no_credentials(match: re.Match[str]) -> None:
    """A password or token in the URL would reach git's command line, its config and
    the logs: only ssh's plain user name (``ssh://git@host/...``) may stand before the host."""
    userinfo = match.groupdict().get("userinfo") or ""
    if not userinfo:
        return
    if match.groupdict().get("scheme") != "ssh" or ":" in userinfo:
        raise ValueError(
            "the URL carries credentials (user:token@host); for a private repository use an"
            " ssh URL and deploy_key"
        )


_KEY_BEGIN = re.compile(r"-----BEGIN ((?:OPENSSH|RSA|EC|DSA) )?PRIVATE KEY-----\Z")
_KEY_END = re.compile(r"-----END ((?:OPENSSH|RSA|EC|DSA) )?PRIVATE KEY-----\Z")
_KEY_BODY = re.compile(r"[A-Za-z0-9+/=]+\Z|[A-Za-z-]+: .*\Z")
_HOST_KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}\Z")
_KNOWN_HOST_PATTERNS = re.compile(r"[A-Za-z0-9.:\[\]*?!,_|=+/-]+\Z")


def ssh_private_key(value: Any) -> str:
    """An SSH private key in OpenSSH or PEM armour; the messages never quote the key."""
    lines = [line.strip() for line in str(value or "").strip().splitlines()]
    if not lines or lines == [""]:
        return ""
    if len(lines) < 3 or not _KEY_BEGIN.match(lines[0]) or not _KEY_END.match(lines[-1]):
        raise ValueError("expected a private key between -----BEGIN ... PRIVATE KEY----- lines")
    if "ENCRYPTED" in " ".join(lines[1:3]) or any(not _KEY_BODY.match(line) for line in lines[1:-1] if line):
        raise ValueError("the key must be unencrypted and contain only its armoured body")
    return "\n".join(lines) + "\n"


# a Juju secret's URI as `juju add-secret` prints it (secret:<20 base32hex characters>) or
# with its model (secret://<model uuid>/<id>)
_SECRET_URI = re.compile(r"secret:(?://[0-9a-f-]{1,64}/)?[0-9a-v]{20}\Z")


def secret_uri(value: Any) -> str:
    """A Juju secret's URI (``secret:...``, see ``juju secrets``), or empty."""
    uri = str(value or "").strip()
    if uri and not _SECRET_URI.match(uri):
        raise ValueError("expected a Juju secret URI (secret:..., as juju add-secret prints it)")
    return uri


def is_secret_uri(value: str) -> bool:
    return value.startswith("secret:")


def ssh_private_key_or_secret(value: Any) -> str:
    """An SSH private key (:func:`ssh_private_key`) or the URI of the secret holding one."""
    text = str(value or "").strip()
    return secret_uri(text) if is_secret_uri(text) else ssh_private_key(text)


def known_hosts(value: Any) -> str:
    """known_hosts lines: [@marker] patterns keytype base64-key [comment]."""
    kept = []
    for number, raw in enumerate(str(value or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        _no_control(line, f"line {number}")
        fields = line.split()
        if fields[0] in ("@cert-authority", "@revoked"):
            fields = fields[1:]
        if len(fields) < 3:
            raise ValueError(f"line {number} is not 'host keytype key'")
        hosts, key_type, key = fields[:3]
        if not _KNOWN_HOST_PATTERNS.match(hosts) or hosts.startswith("-"):
            raise ValueError(f"line {number}: bad host pattern")
        if key_type not in _HOST_KEY_TYPES:
            raise ValueError(f"line {number}: unknown key type {key_type[:40]!r}")
        if not _BASE64.match(key):
            raise ValueError(f"line {number}: the key is not base64")
        kept.append(line)
    return "\n".join(kept) + "\n" if kept else ""


def is_ssh_url(url: str) -> bool:
    """True for ssh:// and scp-like (user@host:path) URLs."""
    return url.startswith(("ssh://", "git+ssh://", "ssh+git://")) or (
        "://" not in url and _SCP.match(url) is not None
    )


def git_ref(value: Any) -> str:
    """A branch or tag name git accepts (check-ref-format rules), or a commit hash."""
    ref = str(value or "").strip()
    if not ref or _HEX.match(ref):
        return ref
    problems = (
        (bool(_CONTROL.search(ref)) or " " in ref, "contains spaces or control characters"),
        (any(c in ref for c in "~^:?*[\\"), "contains one of ~ ^ : ? * [ \\"),
        (ref.startswith(("-", "/")), "starts with '-' or '/'"),
        (ref.endswith(("/", ".", ".lock")), "ends with '/', '.' or '.lock'"),
        (".." in ref or "//" in ref or "@{" in ref or ref == "@", "contains '..', '//' or '@{'"),
        (any(part.startswith(".") for part in ref.split("/")), "has a part starting with '.'"),
    )
    for bad, why in problems:
        if bad:
            raise ValueError(f"{ref!r} is not a valid branch, tag or commit: it {why}")
    return ref


def wsgi_entry_point(value: Any) -> str:
    """``module.path[:callable]`` or ``module:factory()``; empty means detect."""
    entry = str(value or "").strip()
    if entry and not _ENTRY_POINT.match(entry):
        raise ValueError(f"{entry!r} is not of the form module.path:callable")
    return entry


def environment(value: Any) -> dict[str, str]:
    """``KEY=value`` lines into a mapping; comments and blank lines are skipped."""
    settings: dict[str, str] = {}
    for number, raw in enumerate(str(value or "").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, val = line.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"line {number} is not KEY=value")
        if not _SETTING_KEY.match(key):
            raise ValueError(f"line {number}: {key[:40]!r} is not a valid name ([A-Za-z_][A-Za-z0-9_]*)")
        if key in RESERVED_SETTINGS:
            raise ValueError(f"line {number}: {key} is set by the charm and cannot be overridden")
        if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", val):
            raise ValueError(f"line {number}: the value of {key} contains a control character")
        settings[key] = val.strip()
    return settings


def python_requirements(value: Any) -> tuple[str, ...]:
    """Requirement specifiers (name, extras, versions); no URLs, paths or pip options."""
    requirements = tuple(str(value or "").split())
    for requirement in requirements:
        if not _REQUIREMENT.match(requirement):
            raise ValueError(f"{requirement[:60]!r} is not a requirement like name[extra]>=1.0")
    return requirements


def apt_packages(value: Any) -> tuple[str, ...]:
    """Debian package names, optionally ``=version``."""
    packages = tuple(str(value or "").split())
    for package in packages:
        if not _APT_PACKAGE.match(package):
            raise ValueError(f"{package[:60]!r} is not a Debian package name")
    return packages


def shell_command(value: Any) -> str:
    """A shell command; only NUL and other non-text control characters are refused."""
    command = str(value or "").strip()
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", command):
        raise ValueError("the command contains a control character")
    return command


MAX_PAGE_BYTES = 64 * 1024  # files/wsgi_app_maintenance.py's MAX_PAGE: it serves no larger page


def html_page(value: Any) -> str:
    """An HTML page served as is (``text/html; charset=utf-8``): UTF-8 text of at most
    :data:`MAX_PAGE_BYTES` bytes, without NUL; empty stays empty (a built-in page)."""
    page = str(value or "")
    try:
        size = len(page.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate
        raise ValueError("is not valid UTF-8 text") from None
    if size > MAX_PAGE_BYTES:
        raise ValueError(f"is {size} bytes long; at most {MAX_PAGE_BYTES} are served")
    if "\x00" in page:
        raise ValueError("contains a NUL character")
    return page if page.strip() else ""


def url_path(value: Any) -> str:
    """An absolute URL path (with an optional query), printable ASCII only; empty stays
    empty (the option's own default)."""
    path = str(value or "").strip()
    if path and not re.fullmatch(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*", path):
        raise ValueError("must be an absolute path such as /healthz, without spaces")
    return path


_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
MAX_HOSTNAMES = 64


def hostnames(value: Any) -> tuple[str, ...]:
    """Public names of the application, separated by spaces or commas: DNS names (lower
    case), IP addresses (IPv6 in brackets, as Django's ALLOWED_HOSTS wants them) or
    ``.example.com`` (the domain and every subdomain); no ports, no duplicates."""
    found: list[str] = []
    for item in str(value or "").replace(",", " ").split():
        name = _hostname(item)
        if name not in found:
            found.append(name)
    if len(found) > MAX_HOSTNAMES:
        raise ValueError(f"more than {MAX_HOSTNAMES} names")
    return tuple(found)


def _hostname(item: str) -> str:
    shown = repr(item[:70])
    address = _ip_literal(item)
    if address:
        return address
    name = item.lower().removesuffix(".")
    domain = name.removeprefix(".")
    labels = domain.split(".")
    if len(domain) > 253 or not all(_DNS_LABEL.match(label) for label in labels):
        raise ValueError(
            f"{shown} is not a host name or IP address (letters, digits, '-' and '.'; "
            "a leading '.' for every subdomain; no port, scheme or path)"
        )
    if all(label.isdigit() for label in labels) or (name.startswith(".") and len(labels) < 2):
        raise ValueError(f"{shown} is neither an IP address nor a domain name")
    return name


def _ip_literal(item: str) -> str:
    """``item`` as a canonical IPv4 address or bracketed IPv6 address, or ``""``."""
    bare = item[1:-1] if item.startswith("[") and item.endswith("]") else item
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            raise ValueError(f"{item[:70]!r}: a zoned IPv6 address cannot be a host name")
        return f"[{address}]"
    return str(address)


_PG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$-]{0,62}\Z")
_PG_EXTENSION = re.compile(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_-]{0,62})(?:\((?P<schema>\w{1,63})\)|:(?P<old>\w{1,63}))?\Z", re.ASCII
)


def database_name(value: Any) -> str:
    """A PostgreSQL database name the server can create without quoting tricks; empty allowed."""
    name = str(value or "").strip()
    if name and not _PG_NAME.match(name):
        raise ValueError(f"{name[:70]!r} is not a database name (letters, digits, _ - $; at most 63)")
    return name


def _comma_list(value: Any, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in str(value or "").split(",") if item.strip())
    for item in items:
        if not pattern.match(item):
            raise ValueError(f"{item[:70]!r} is not {what}")
    return items


def database_roles(value: Any) -> tuple[str, ...]:
    """Comma-separated PostgreSQL role names."""
    return _comma_list(value, _PG_NAME, "a role name (letters, digits, _ - $)")


def database_extensions(value: Any) -> tuple[str, ...]:
    """Comma-separated PostgreSQL extensions, each ``name`` or ``name(schema)``, the format
    the classic postgresql charm parses; ``name:schema`` is read as ``name(schema)``."""
    found = []
    for item in _comma_list(value, _PG_EXTENSION, "an extension name, optionally name(schema)"):
        match = _PG_EXTENSION.match(item)
        assert match is not None  # checked by _comma_list
        schema = match.group("schema") or match.group("old")
        found.append(f"{match.group('name')}({schema})" if schema else match.group("name"))
    return tuple(found)


def port(value: Any) -> int:
    """An unprivileged TCP port."""
    number = _as_int(value)
    if not 1024 <= number <= 65535:
        raise ValueError(f"{number} is outside 1024-65535")
    return number


def bounded_int(low: int, high: int) -> Callable[[Any], int]:
    """A parser for integers in ``[low, high]``."""

    def parse(value: Any) -> int:
        number = _as_int(value)
        if not low <= number <= high:
            raise ValueError(f"{number} is outside {low}-{high}")
        return number

    return parse


_SIZE = re.compile(r"(?P<number>[1-9][0-9]{0,9})(?P<unit>[KMGT])\Z|(?:[1-9][0-9]?|100)%\Z|infinity\Z")
_SIZE_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
MIN_MEMORY_MAX = 64 << 20  # below this not even gunicorn's master starts


def memory_max(value: Any) -> str:
    """systemd's MemoryMax=: a size with K/M/G/T of at least 64M, 1-100%, or infinity."""
    size = str(value or "").strip()
    match = _SIZE.match(size)
    if match is None:
        raise ValueError("expected a size such as 512M or 2G, a percentage such as 75%, or infinity")
    if (
        match.group("number")
        and int(match.group("number")) * _SIZE_UNITS[match.group("unit")] < MIN_MEMORY_MAX
    ):
        raise ValueError("is below 64M, too little for gunicorn and one worker")
    return size


def one_of(choices: tuple[str, ...]) -> Callable[[Any], str]:
    """A parser for one of ``choices`` (case-insensitive)."""

    def parse(value: Any) -> str:
        choice = str(value or "").strip().lower()
        if choice not in choices:
            raise ValueError(f"{str(value)[:40]!r} is not one of {', '.join(choices)}")
        return choice

    return parse


def boolean(value: Any) -> bool:
    """A Juju boolean (or its usual spellings in a string: true/false, yes/no, 1/0, on/off)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise ValueError(f"{str(value)[:40]!r} is not true or false")


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a whole number")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError(f"{str(value)[:40]!r} is not a whole number") from None


# gunicorn's access-log atoms (docs: settings, access_log_format); {name}i/o/e are a
# request header, a response header and an environ variable.
_ACCESS_ATOMS = frozenset("hlutrmUqHsBbfaTMDLp")
_ACCESS_ATOM = re.compile(r"%\(([^)]*)\)s")
# gunicorn keys request and response headers in lower case
_ACCESS_VARIABLE = re.compile(r"\{[a-z0-9_.-]{1,64}\}[io]\Z|\{[A-Za-z0-9_.-]{1,64}\}e\Z")
DEFAULT_ACCESS_LOG_FORMAT = (
    'remote=%(h)s method=%(m)s path="%(U)s" query="%(q)s" status=%(s)s bytes=%(B)s '
    'duration_us=%(D)s ua="%(a)s" xff="%({x-forwarded-for}i)s"'
)


def access_log_format(value: Any) -> str:
    """A gunicorn access-log format: one line of text and ``%(atom)s`` atoms; empty is the default."""
    text = str(value or "").strip()
    if not text:
        return DEFAULT_ACCESS_LOG_FORMAT
    if len(text) > 1000:
        raise ValueError("is longer than 1000 characters")
    if re.search(r"[\x00-\x1f\x7f]", text):
        raise ValueError("must be one line without control characters (tabs and newlines included)")
    for atom in _ACCESS_ATOM.findall(text):
        if atom not in _ACCESS_ATOMS and not _ACCESS_VARIABLE.match(atom):
            raise ValueError(
                f"unknown atom %({atom[:40]})s: use gunicorn's (h, m, U, q, s, B, D, a...) "
                "or {header-in-lower-case}i"
            )
    if "%" in _ACCESS_ATOM.sub("", text).replace("%%", ""):
        raise ValueError("a '%' must start an atom like %(h)s or be doubled (%%)")
    return text


def statsd_address(value: Any) -> str:
    """``host:port`` of a statsd server (IPv6 in brackets); empty means none."""
    address = str(value or "").strip()
    if not address:
        return ""
    match = re.fullmatch(rf"(?P<host>{_HOST}):(?P<port>\d{{1,5}})", address)
    if match is None:
        raise ValueError(f"{address[:60]!r} is not host:port (e.g. 10.0.0.9:8125)")
    if not 1 <= int(match.group("port")) <= 65535:
        raise ValueError(f"port {match.group('port')} is outside 1-65535")
    return address


def optional_port(value: Any) -> int:
    """0 (off) or an unprivileged TCP port."""
    number = _as_int(value)
    return 0 if number == 0 else port(number)


# -- static_paths (see static_files) --
MAX_STATIC_PATHS = 16
# a URL prefix: "/" or "/a/b/", each part unreserved URL characters (no "%": one spelling)
_PREFIX = re.compile(r"/(?:[A-Za-z0-9._~-]+/)*")
# a directory of the repository: relative, each part a plain name not starting with "."
# (no "..", no hidden directory such as .git)
_DIRECTORY = re.compile(r"[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*(?:/[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*)*")


def static_paths(value: Any) -> tuple[tuple[str, str], ...]:
    """The ``static_paths`` option: ``/url-prefix/=directory`` entries separated by spaces,
    commas or newlines, as (prefix, directory relative to the app tree) pairs; ValueError
    naming the first entry that is not one, or a prefix given twice."""
    entries = str(value or "").replace(",", " ").split()
    if len(entries) > MAX_STATIC_PATHS:
        raise ValueError(f"at most {MAX_STATIC_PATHS} entries")
    mounts = tuple(_mount(entry) for entry in entries)
    prefixes = [prefix for prefix, _ in mounts]
    for prefix in prefixes:
        if prefixes.count(prefix) > 1:
            raise ValueError(f"{prefix} is given twice")
    return mounts


def is_url_prefix(prefix: str) -> bool:
    """Whether ``prefix`` is a URL path a static mount may have: ``/`` or ``/a/b/``, each part
    unreserved URL characters and neither ``.`` nor ``..``."""
    return bool(_PREFIX.fullmatch(prefix)) and not any(part in (".", "..") for part in prefix.split("/"))


def _mount(entry: str) -> tuple[str, str]:
    prefix, sep, directory = entry.partition("=")
    shown = repr(entry[:80])
    if not sep:
        raise ValueError(f"{shown} is not /url-prefix/=directory")
    if not is_url_prefix(prefix):
        raise ValueError(f"{shown}: the URL prefix must be a plain path starting and ending with '/'")
    directory = directory.rstrip("/")
    if not _DIRECTORY.fullmatch(directory):
        raise ValueError(
            f"{shown}: the directory must be a path relative to the repository, without '..' "
            "or hidden ('.') parts"
        )
    return prefix, directory
