"""localjuju's rsyslog server: its rendered config, and Debian's rsyslogd run on it over
loopback, filing syslog lines per sending host and program (skipped, visibly, without it)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from localjuju import servers, servers_rsyslog


def test_the_config_listens_on_the_unit_address_and_files_per_host_and_program() -> None:
    text = servers_rsyslog.config(Path("/srv/m/servers/rsyslog-0"), "10.231.0.2", 5514)
    assert text == (
        'global(workDirectory="/srv/m/servers/rsyslog-0/work" net.enableDNS="off")\n'
        'module(load="imtcp")\n'
        'module(load="imudp")\n'
        'template(name="PerHostTag" type="string" string="/srv/m/servers/rsyslog-0/log/'
        '%HOSTNAME:::secpath-replace%/%PROGRAMNAME:::secpath-replace%.log")\n'
        'template(name="Line" type="string" string="%TIMESTAMP:::date-rfc3339% %HOSTNAME% '
        '%syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\\n")\n'
        'ruleset(name="remote") {\n'
        '  action(type="omfile" dynaFile="PerHostTag" template="Line" dirCreateMode="0755"'
        ' fileCreateMode="0644")\n'
        "}\n"
        'input(type="imtcp" address="10.231.0.2" port="5514" ruleset="remote")\n'
        'input(type="imudp" address="10.231.0.2" port="5514" ruleset="remote")\n'
        'action(type="omfile" file="/srv/m/servers/rsyslog-0/rsyslogd.log")\n'
    )


def test_values_are_quoted_and_a_control_character_is_refused() -> None:
    assert servers_rsyslog.quoted('a"b\\c') == '"a\\"b\\\\c"'
    with pytest.raises(ValueError, match="control character"):
        servers_rsyslog.quoted('a\nmodule(load="imuxsock")')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def send(port: int, hostname: str, tag: str, message: str) -> None:
    """One RFC 5424 message, octet-counted, over TCP (as the test's log shipper sends)."""
    line = f"<14>1 2026-12-05T15:00:00Z {hostname} {tag} - - - {message}".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(str(len(line)).encode() + b" " + line)


def test_rsyslogd_files_each_line_under_its_host_and_program_and_no_path_escapes(tmp_path: Path) -> None:
    if shutil.which("rsyslogd") is None:
        pytest.skip("rsyslogd is not installed (tools/install-deps installs it)")
    port = free_port()
    (tmp_path / "work").mkdir()
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(servers_rsyslog.config(tmp_path, "127.0.0.1", port))
    pidfile = tmp_path / "rsyslogd.pid"
    subprocess.run(["rsyslogd", "-f", str(conf), "-i", str(pidfile)], check=True, capture_output=True)
    try:
        servers.wait_for_port(port)
        send(port, "lj-m-0", "unit-wsgi-app-0", "GET /?marker=1 200")
        send(port, "..", "../../etc", "escape")
        wanted = servers_rsyslog.log_file(tmp_path, "lj-m-0", "unit-wsgi-app-0")
        end = time.monotonic() + 10
        while time.monotonic() < end and len(list((tmp_path / "log").rglob("*.log"))) < 2:
            time.sleep(0.1)
        time.sleep(0.2)  # the lines are written just after their files are made
        assert wanted.read_text().endswith(" lj-m-0 unit-wsgi-app-0 GET /?marker=1 200\n")
        written = [p for p in (tmp_path / "log").rglob("*.log") if p != wanted]
        assert len(written) == 1 and written[0].resolve().is_relative_to(tmp_path / "log")
    finally:
        servers.stop_pid(pidfile)
