"""Install a wheelhouse of pure-Python wheels into a virtualenv, without pip.

The first hook runs this under the machine's ``python3`` with the standard library only.
A pure wheel is a zip archive laid out as its files go into ``site-packages``, so
installing one is: unpack it there, route its ``<name>.data/`` directories (scripts to
``bin/`` with their ``#!python`` line pointing at the virtualenv, data, headers), write
the console scripts its entry points name, and write ``RECORD`` and then ``INSTALLER``.
``INSTALLER`` comes last: a distribution without it was interrupted and is installed
again. A different version of the same distribution is removed first, file by file from
its ``RECORD`` (pip's or ours), so an upgraded charm's wheelhouse replaces what the last
one installed. Byte code is left to the first import, which writes only what it loads.
"""

from __future__ import annotations

import base64
import configparser
import csv
import hashlib
import os
import re
import sys
import venv
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

INSTALLER = "wsgi-app"
PURE_SUFFIXES = ("-py3-none-any.whl", "-py2.py3-none-any.whl")


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installable(archives: Iterable[Path]) -> bool:
    """True when every archive is a pure wheel and no distribution comes twice: what
    :func:`install` handles (anything else is left to pip)."""
    names = [p.name for p in archives]
    distributions = [normalise(n.split("-", 1)[0]) for n in names]
    return all(n.endswith(PURE_SUFFIXES) for n in names) and len(set(distributions)) == len(distributions)


def site_packages(root: Path) -> Path:
    """The virtualenv's site-packages for the running Python (the one that made it)."""
    return root / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


def create(root: Path) -> None:
    """A virtualenv without pip (no ensurepip, so no python3-venv package needed)."""
    if not ((root / "bin" / "python3").exists() and (root / "pyvenv.cfg").exists()):
        venv.EnvBuilder(with_pip=False, symlinks=True).create(str(root))


def install(wheels: Iterable[Path], root: Path) -> list[str]:
    """Install each wheel not yet complete in the virtualenv; the names of those installed."""
    return [wheel.name for wheel in sorted(wheels) if install_wheel(wheel, root)]


def install_wheel(wheel: Path, root: Path) -> bool:
    """Install one pure wheel; False when this version is already completely installed."""
    site = site_packages(root)
    with zipfile.ZipFile(wheel) as archive:
        dist_info = _dist_info(archive)
        if (site / dist_info / "INSTALLER").exists():
            return False
        remove(_distribution(dist_info), site, keep=dist_info)
        records = [_extract(archive, member, root, dist_info) for member in archive.infolist()]
        entry_points = site / dist_info / "entry_points.txt"
        if entry_points.exists():
            records += _console_scripts(entry_points, root)
    _finish(site / dist_info, [r for r in records if r])
    return True


def remove(distribution: str, site: Path, keep: str = "") -> None:
    """Remove every installed version of a distribution but ``keep`` (a dist-info name)."""
    for dist_info in _installed(site):
        if dist_info.name == keep or _distribution(dist_info.name) != distribution:
            continue
        record = dist_info / "RECORD"
        paths = _recorded(record.read_text(), site) if record.exists() else []
        for path in paths:
            _unlink(path)
            if path.suffix == ".py":
                for compiled in path.parent.glob(f"__pycache__/{path.stem}.*.pyc"):
                    _unlink(compiled)
        for directory in sorted({p.parent for p in paths} | {dist_info}, key=lambda p: -len(p.parts)):
            _prune(directory, site)


def _distribution(dist_info: str) -> str:
    """The normalised distribution name of a ``<name>-<version>.dist-info`` directory."""
    return normalise(dist_info.removesuffix(".dist-info").rsplit("-", 1)[0])


def _installed(site: Path) -> Iterator[Path]:
    if site.is_dir():
        yield from (p for p in site.iterdir() if p.name.endswith(".dist-info") and p.is_dir())


def _recorded(record: str, site: Path) -> list[Path]:
    """The files a RECORD lists that lie inside the virtualenv (paths are relative to site)."""
    root = site.parents[2].resolve()
    paths = []
    for row in csv.reader(record.splitlines()):
        path = Path(os.path.normpath(site / row[0])) if row and row[0] else None
        if path and path.is_relative_to(root):
            paths.append(path)
    return paths


def _unlink(path: Path) -> None:
    if path.is_file() or path.is_symlink():
        path.unlink()


def _prune(directory: Path, site: Path) -> None:
    """Remove ``directory`` (with a byte-code cache only) and its empty parents up to site."""
    while directory != site and directory.is_relative_to(site) and directory.is_dir():
        cache = directory / "__pycache__"
        if cache.is_dir() and not any(cache.glob("*[!c]")):  # only .pyc files left
            for compiled in cache.iterdir():
                compiled.unlink()
            cache.rmdir()
        if any(directory.iterdir()):
            return
        directory.rmdir()
        directory = directory.parent


def _dist_info(archive: zipfile.ZipFile) -> str:
    # at the top only: a wheel may carry vendored packages' dist-info (setuptools does)
    tops = {
        n.split("/")[0] for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/WHEEL")
    }
    if len(tops) != 1:
        raise ValueError(f"{archive.filename}: expected one .dist-info directory, found {sorted(tops)}")
    return tops.pop()


def _destination(name: str, root: Path, dist_info: str) -> tuple[Path, bool]:
    """Where a wheel member goes, and whether it is a script; refuses paths leaving the venv."""
    parts = PurePosixPath(name).parts
    if not parts or name.startswith("/") or ".." in parts:
        raise ValueError(f"unsafe path in wheel: {name!r}")
    site = site_packages(root)
    data = dist_info[: -len(".dist-info")] + ".data"
    if parts[0] != data:
        return site.joinpath(*parts), False
    if len(parts) < 3:
        raise ValueError(f"unexpected member of {data}: {name!r}")
    kind, rest = parts[1], parts[2:]
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    places = {
        "purelib": site,
        "platlib": site,
        "scripts": root / "bin",
        "data": root,
        "headers": root / "include" / "site" / version / data.rsplit("-", 1)[0],
    }
    if kind not in places:
        raise ValueError(f"unknown scheme {kind!r} in wheel member {name!r}")
    return places[kind].joinpath(*rest), kind == "scripts"


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, root: Path, dist_info: str) -> str:
    """Write one member; its RECORD line ('' for what is written at the end)."""
    if member.is_dir() or member.filename in (f"{dist_info}/RECORD", f"{dist_info}/INSTALLER"):
        return ""
    target, script = _destination(member.filename, root, dist_info)
    content = archive.read(member)
    mode = 0o755 if script or (member.external_attr >> 16) & 0o111 else 0o644
    shebang = re.match(rb"#!pythonw?(?=\s)", content) if script else None
    if shebang:  # the wheel's placeholder for "the Python that installs me"
        content = b"#!" + str(root / "bin" / "python3").encode() + content[shebang.end() :]
    return _write(target, content, mode, site_packages(root))


def _console_scripts(entry_points: Path, root: Path) -> list[str]:
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # names keep their case
    parser.read(entry_points)
    records = []
    for section in ("console_scripts", "gui_scripts"):
        for name, target in parser.items(section) if parser.has_section(section) else []:
            module, _, attribute = target.split("[", 1)[0].strip().partition(":")
            _check_entry_point(name, module, attribute)
            head = attribute.split(".", 1)[0]
            script = (
                f"#!{root / 'bin' / 'python3'}\n"
                "import sys\n"
                f"from {module} import {head}\n"
                "if __name__ == '__main__':\n"
                f"    sys.exit({attribute}())\n"
            )
            records.append(_write(root / "bin" / name, script.encode(), 0o755, site_packages(root)))
    return records


SCRIPT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _check_entry_point(name: str, module: str, attribute: str) -> None:
    """A console script's name stays a file in ``bin/``; its target is a dotted name (it
    is written into the script's source)."""
    if not SCRIPT_NAME.fullmatch(name):
        raise ValueError(f"unsafe console script name in wheel: {name!r}")
    if not DOTTED.fullmatch(module) or not DOTTED.fullmatch(attribute):
        raise ValueError(f"console script {name!r}: {module}:{attribute} is not module:attribute")


def _write(target: Path, content: bytes, mode: int, site: Path) -> str:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(content)
    partial.chmod(mode)
    partial.replace(target)
    return _record_line(target, content, site)


def _record_line(target: Path, content: bytes, site: Path) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
    return f"{os.path.relpath(target, site)},sha256={digest},{len(content)}"


def _finish(dist_info: Path, records: list[str]) -> None:
    """RECORD, then INSTALLER: the mark of a complete install."""
    site = dist_info.parent
    installer = dist_info / "INSTALLER"
    record = dist_info / "RECORD"
    lines = [
        *records,
        _record_line(installer, f"{INSTALLER}\n".encode(), site),
        f"{record.relative_to(site)},,",
    ]
    record.write_text("\n".join(lines) + "\n")
    installer.write_text(f"{INSTALLER}\n")
