"""The metrics exporter's service: installed, restarted on change, removed when off.

Side-effecting, like :mod:`.apply`, whose atomic writer it uses; what to run comes
rendered from :mod:`.render` (``metrics_unit`` and ``metrics_exporter``).
"""

from __future__ import annotations

from pathlib import Path

from .commands import run
from .observability import EXPORTER_PATH
from .writes import write_if_changed


def apply_exporter(unit_file: Path, unit_text: str, code: str) -> str:
    """Bring ``unit_file`` to ``unit_text`` (empty: remove it); what was done, for the log."""
    unit_name = unit_file.name
    if not unit_text:
        if not unit_file.exists():
            return "none"
        run("systemctl disable", ["systemctl", "disable", "--now", unit_name])
        unit_file.unlink()
        run("systemctl daemon-reload", ["systemctl", "daemon-reload"])
        return "stopped"
    exporter = Path(EXPORTER_PATH)
    exporter.parent.mkdir(parents=True, exist_ok=True)
    code_changed = write_if_changed(exporter, code, 0o644)
    unit_changed = write_if_changed(unit_file, unit_text, 0o644)
    if unit_changed:
        run("systemctl daemon-reload", ["systemctl", "daemon-reload"])
    run("systemctl enable", ["systemctl", "enable", "--quiet", unit_name])
    if code_changed or unit_changed:
        run("systemctl restart", ["systemctl", "restart", unit_name])
        return "restarted"
    run("systemctl start", ["systemctl", "start", unit_name])
    return "none"
