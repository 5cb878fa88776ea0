"""Writing the files root owns: atomically, with mode and owner set before content."""

from __future__ import annotations

import grp
import os
import tempfile
from pathlib import Path


def write_if_changed(path: Path, text: str | bytes, mode: int, group: str | None = None) -> bool:
    """Atomically replace ``path`` (owned by root, ``group``) unless it already holds ``text``
    (text as UTF-8, bytes as they are)."""
    data = text if isinstance(text, bytes) else text.encode()
    try:
        if path.read_bytes() == data:
            path.chmod(mode)
            return False
    except OSError:
        pass
    write_atomically(path, data, mode, uid=0, gid=grp.getgrnam(group).gr_gid if group else 0)
    return True


def write_atomically(path: Path, text: str | bytes, mode: int, uid: int, gid: int) -> None:
    """Replace ``path`` in one rename; the file has its mode and owner before it has content."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        os.fchown(fd, uid, gid)
        with os.fdopen(fd, "wb") as handle:
            handle.write(text if isinstance(text, bytes) else text.encode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
