"""The pure parts of machines: mount points read from /proc/<pid>/mountinfo."""

from __future__ import annotations

from localjuju import machines

MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
301 27 0:55 / /var/lib/localjuju/m/machines/0/root rw,relatime - overlay overlay rw,lowerdir=/x
302 27 0:56 / /var/lib/localjuju/m\\040two/machines/1/root rw,relatime - overlay overlay rw,lowerdir=/y
"""


def test_mount_points_are_read_with_escapes_decoded() -> None:
    assert machines.mount_points(MOUNTINFO) == [
        "/proc",
        "/var/lib/localjuju/m/machines/0/root",
        "/var/lib/localjuju/m two/machines/1/root",
    ]
