#!/usr/bin/python3 -IS
"""Every Juju hook tool on a localjuju machine: a small client of the agent.

As Juju's hook tools are one small binary that hands its arguments to the unit agent
over a socket, this client sends the tool's name (how it was called), its arguments,
and the caller's ``JUJU_*`` environment to the agent's tool server
(``$LOCALJUJU_SOCKET``, served for the hook's duration), reads a file or stdin only when
the tool asks for it, prints what the tool printed and exits with its code. It starts
without ``site`` and imports only built-in modules (``posix``, not ``os``): a call costs a
Python start, not the tools' imports.

Messages both ways are lists of byte strings, each length-prefixed (see ``pack``).
"""

import _socket
import posix
import sys

NOT_IN_HOOK = "not running in a hook context"


def pack(fields: list[bytes]) -> bytes:
    """``fields`` (bytes) as one message: their count, then each one's length and bytes."""
    return b"%08x" % len(fields) + b"".join(b"%08x" % len(field) + field for field in fields)


def unpack(connection: _socket.socket, limit: int = 0) -> list[bytes]:
    """The next message on ``connection``, as a list of bytes; EOFError if it closed.
    With a ``limit``, a message of more bytes in all raises ValueError before it is read."""
    left = [limit]

    def exactly(size: int) -> bytes:
        if limit:
            left[0] -= size
            if left[0] < 0:
                raise ValueError(f"a message of more than {limit} bytes")
        chunks = []
        while size:
            chunk = connection.recv(min(size, 1 << 20))
            if not chunk:
                raise EOFError("connection closed")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    return [exactly(int(exactly(8), 16)) for _ in range(int(exactly(8), 16))]


def read_input(path: bytes) -> list[bytes]:
    """What the tool asked to read (a file, relative to this directory, or ``-``: stdin)."""
    try:
        if path == b"-":
            return [b"ok", sys.stdin.buffer.read()]
        with open(path, "rb") as source:
            return [b"ok", source.read()]
    except OSError as error:
        reason = (error.strerror or str(error)).lower().encode()
        return [b"error", b"open " + path + b": " + reason]


def main() -> int:
    name = sys.argv[0].rpartition("/")[2]
    address = posix.environ.get(b"LOCALJUJU_SOCKET", b"")
    connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        connection.connect(address)
    except OSError:
        sys.stderr.write(f"ERROR {name}: {NOT_IN_HOOK}\n")
        return 1
    environment = [k + b"=" + v for k, v in posix.environ.items() if k.startswith(b"JUJU_")]
    arguments = [argument.encode("utf-8", "surrogateescape") for argument in sys.argv[1:]]
    request = [name.encode(), b"%d" % len(arguments), *arguments, *environment]
    connection.sendall(pack(request))
    while True:
        try:
            kind, *rest = unpack(connection)
        except (OSError, EOFError):
            sys.stderr.write(f"ERROR {name}: {NOT_IN_HOOK}\n")
            return 1
        if kind == b"read":
            connection.sendall(pack(read_input(rest[0])))
            continue
        code, out, err, kill_caller = rest
        sys.stdout.buffer.write(out)
        sys.stderr.buffer.write(err)
        sys.stdout.buffer.flush()
        if kill_caller:
            posix.kill(posix.getppid(), 15)  # juju-reboot --now: Juju kills the hook (SIGTERM)
        return int(code)


if __name__ == "__main__":
    sys.exit(main())
