"""Write config.yaml and the README's config reference from the declared OPTIONS.

`make config` runs this; tests/unit/test_config_yaml.py fails when either is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "lib")]

from charms.layer.wsgi_app.options import OPTIONS  # noqa: E402

README = ROOT / "README.md"
BEGIN, END = "<!-- config-reference:begin -->", "<!-- config-reference:end -->"
HEADER = "# Generated from lib/charms/layer/wsgi_app/options.py by `make config`: edit there.\n"


def config_yaml() -> str:
    options = {
        o.name: {"type": o.juju_type, "default": o.default, "description": o.description} for o in OPTIONS
    }
    return HEADER + yaml.safe_dump({"options": options}, sort_keys=False, width=88)


def reference_table() -> str:
    lines = ["| Option | Type | Default | What it does |", "|---|---|---|---|"]
    for option in OPTIONS:
        default = f"`{option.default}`" if option.default != "" else "(empty)"
        lines.append(
            f"| `{option.name}` | {option.juju_type} | {default} | {option.description.replace('|', '/')} |"
        )
    return "\n".join(lines)


def readme_with_reference(text: str) -> str:
    head, begin, rest = text.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        return text
    return f"{head}{BEGIN}\n{reference_table()}\n{END}{tail}"


def main() -> None:
    (ROOT / "config.yaml").write_text(config_yaml())
    if README.exists():
        README.write_text(readme_with_reference(README.read_text()))


if __name__ == "__main__":
    main()
