"""What every hook imports: the modules the reactive handlers import at hook start leave
Jinja2 out (~15 ms a hook); it is imported when a file is rendered, which an idle hook never
does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import sys
sys.path[:0] = ["lib"]
from charms.layer import basic
basic.teach_charmhelpers_debian()
import charms.layer.wsgi_app.unit, charms.layer.wsgi_app.relations, charms.layer.wsgi_app.config
print(",".join(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_hook_start_does_not_import_jinja2() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert "charms" in loaded.split(",")  # the probe imported the layer
    assert {"jinja2", "markupsafe"}.isdisjoint(loaded.split(","))
