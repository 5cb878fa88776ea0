"""The hook tools' server: what Juju's unit agent runs for each hook.

While a hook runs, the agent serves its hook tools on a unix socket in the machine's
share; the machine's tools are one small client that forwards each call here, as Juju's
tools forward theirs to the unit agent. The calls change the hook's context in memory, one
at a time; the agent commits it when the hook is over. The client is ``machine/hooktool.c``
built statically with the host's C compiler (a call costs ~1 ms, as Juju's compiled tool
does), or ``machine/hooktool.py`` (a Python start, ~9 ms) on a host without one.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from .machine import hooktool, jujuc
from .machines import cache_dir
from .model import Json

CALL_TIMEOUT = 600  # seconds a caller may take to send its request or a file it was asked for
# bytes a call or a file it sends may hold (Juju keeps a relation's or a secret's data in one
# 16 MiB database document): a charm cannot make the host agent hold more
MAX_MESSAGE = 16 << 20
MACHINE = Path(__file__).parent / "machine"
CLIENT_SOURCE = MACHINE / "hooktool.c"
PYTHON_CLIENT = MACHINE / "hooktool.py"


def machine_client() -> Path:
    """The hook-tool client to install on machines: ``hooktool.c`` built once per version
    of its source (static, so it runs on any machine's libc), or ``hooktool.py`` when the
    host has no C compiler or the build fails."""
    source = CLIENT_SOURCE.read_bytes()
    built = cache_dir() / "hooktool" / f"jujuc-{hashlib.sha256(source).hexdigest()[:16]}"
    if built.exists():
        return built
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return PYTHON_CLIENT
    built.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=built.parent) as scratch:
        output = Path(scratch) / "jujuc"
        command = [compiler, "-static", "-Os", "-o", str(output), str(CLIENT_SOURCE)]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=120)
        except (OSError, subprocess.SubprocessError):
            return PYTHON_CLIENT
        os.replace(output, built)  # atomic: agents building at once all see a whole binary
    return built


class ToolServer:
    """Serves the hook tools over ``context`` (changed in place) at ``path`` until closed."""

    def __init__(self, path: Path, context: Json):
        self.path = path
        self.context = context
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._serve, name=f"hook tools {path.name}", daemon=True)
        self._active: socket.socket | None = None  # the call being answered

    def __enter__(self) -> ToolServer:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        with _short_path(self.path) as address:
            self._listener.bind(address)
        self.path.chmod(0o600)
        self._listener.listen(16)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        os.write(self._wake_write, b"x")
        active = self._active
        if active is not None:  # a caller the hook left behind: not waited for
            with contextlib.suppress(OSError):
                active.shutdown(socket.SHUT_RDWR)
        self._thread.join()
        self._listener.close()
        os.close(self._wake_read)
        os.close(self._wake_write)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _serve(self) -> None:
        while True:
            ready, _, _ = select.select([self._listener, self._wake_read], [], [])
            if self._wake_read in ready:
                return
            connection, _ = self._listener.accept()
            self._active = connection
            with connection:
                connection.settimeout(CALL_TIMEOUT)
                with contextlib.suppress(OSError, EOFError, ValueError):  # a caller that went away
                    self._answer(connection)
            self._active = None

    def _answer(self, connection: socket.socket) -> None:
        call_fields = hooktool.unpack(connection, MAX_MESSAGE)
        fields = [field.decode("utf-8", "surrogateescape") for field in call_fields]
        name, count = fields[0], int(fields[1])
        args = fields[2 : 2 + count]
        env = dict(entry.partition("=")[::2] for entry in fields[2 + count :])
        out, err = io.StringIO(), io.StringIO()
        call = jujuc.Call(env, out, err, read=lambda path: _ask(connection, path))
        try:
            code = jujuc.run(name, args, self.context, call)
        except Exception:  # a bug in a tool: its traceback, as a crashed tool would print
            err.write(traceback.format_exc())
            code = 1
        printed = [stream.getvalue().encode("utf-8", "surrogateescape") for stream in (out, err)]
        reply = [b"exit", b"%d" % code, *printed]
        connection.sendall(hooktool.pack([*reply, b"1" if call.kill_caller else b""]))


def _ask(connection: socket.socket, path: str) -> str:
    """The text of ``path`` (``-``: stdin) as the calling tool reads it on its machine."""
    connection.sendall(hooktool.pack([b"read", path.encode("utf-8", "surrogateescape")]))
    try:
        status, data = hooktool.unpack(connection, MAX_MESSAGE)
    except ValueError as error:  # the rest is not read: the call ends with this error
        raise jujuc.ToolError(f"{path}: {error}") from None
    if status != b"ok":
        raise jujuc.ToolError(data.decode(errors="replace"))
    return data.decode("utf-8", "surrogateescape")


@contextlib.contextmanager
def _short_path(path: Path) -> Iterator[str]:
    """``path`` as an address ``bind`` accepts: unix socket addresses hold 107 bytes at most,
    so a longer one is reached through its directory's descriptor."""
    if len(os.fsencode(path)) < 100:
        yield str(path)
        return
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{directory}/{path.name}"
    finally:
        os.close(directory)
