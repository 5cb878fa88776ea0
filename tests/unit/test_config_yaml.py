"""config.yaml and the README's config reference are generated from the OPTIONS."""

from __future__ import annotations

import importlib.util

import yaml
from conftest import ROOT


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_config", ROOT / "tools" / "gen_config.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_config_yaml_is_generated_from_options():
    assert (ROOT / "config.yaml").read_text() == load_generator().config_yaml(), "run `make config`"


def test_readme_reference_is_current():
    generator = load_generator()
    text = (ROOT / "README.md").read_text()
    assert generator.readme_with_reference(text) == text, "run `make config`"
    assert generator.BEGIN in text


def test_every_option_has_a_description_and_a_typed_default():
    options = yaml.safe_load((ROOT / "config.yaml").read_text())["options"]
    python_types = {"string": str, "int": int, "boolean": bool}
    for name, option in options.items():
        assert len(option["description"]) > 30, name
        assert isinstance(option["default"], python_types[option["type"]]), name
