"""Host processes as /proc shows them: which refer to a directory, the listening sockets of
a /proc/net/tcp table, and a real child process found, with its port, and stopped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from localjuju import procs

TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000   0   0 4711 1 0 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000   0   0 4712 1 0 20 4 30 10 -1
   2: 020AE70A:2B67 00000000:0000 0A 00000000:00000000 00:00000000 00000000 110   0 4713 1 0 100 0 0 10 0
"""


def test_a_process_refers_to_a_directory_by_argument_cwd_or_root() -> None:
    model = Path("/var/lib/localjuju/m")
    pidfile = "/var/lib/localjuju/m/servers/memcached-0/run/memcached.pid"
    assert procs.Process(1, ("memcached", "-P", pidfile)).mentions(model)
    assert procs.Process(2, ("python3", "es_standin.py"), cwd=f"{model}/servers/es-0").mentions(model)
    assert procs.Process(3, ("gunicorn",), root="/var/lib/localjuju/m/machines/0/root").mentions(model)
    assert procs.Process(4, ("ls", "/var/lib/localjuju/m")).mentions(model)
    # another model whose name starts the same, or only the parent directory
    assert not procs.Process(5, ("apache2", "-d", "/var/lib/localjuju/m-2/servers/a-0")).mentions(model)
    assert not procs.Process(6, ("ls",), cwd="/var/lib/localjuju").mentions(model)


def test_listening_sockets_of_a_tcp_table() -> None:
    assert procs.listening_sockets(TCP) == {4711: 8080, 4713: 11111}


def test_a_child_is_found_with_its_port_and_stopped(tmp_path: Path) -> None:
    serve = (
        "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
        "print(s.getsockname()[1], flush=True); time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", serve], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        found = procs.under(tmp_path)
        assert [p.pid for p in found] == [child.pid]
        assert procs.listening_ports(child.pid) == [port]
        procs.terminate([child.pid], timeout=5)
        assert child.wait(timeout=5) != 0
    finally:
        child.kill()
