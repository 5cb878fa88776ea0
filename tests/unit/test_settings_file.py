"""The settings file's codec, and the same format as gunicorn.conf.py and systemd read it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import exec_conf
from hypothesis import given, settings
from hypothesis import strategies as st

from charms.layer.wsgi_app import settings_file
from charms.layer.wsgi_app.render import render_all

NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)
# every code point, surrogates included (a JSON string from Juju may hold a lone one)
VALUES = st.text(st.characters(exclude_categories=()), max_size=60)
SETTINGS = st.dictionaries(NAMES, VALUES, max_size=8)


def as_documented(value: str) -> str:
    """``value`` as the module's docstring says it is read back: control characters become
    spaces, lone surrogates U+FFFD, every other character stays."""
    out = []
    for char in value:
        if ord(char) < 32 or ord(char) == 127:
            out.append(" ")
        elif 0xD800 <= ord(char) <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(char)
    return "".join(out)


def test_each_setting_is_one_double_quoted_line():
    text = settings_file.encode({"A": 'x"\nEVIL=1', "B": "a\\", "C": "$HOME `id` 100% é"})
    assert text == 'A="x\\" EVIL=1"\nB="a\\\\"\nC="\\$HOME \\`id\\` 100% é"\n'


def test_comments_and_blank_lines_are_skipped():
    assert settings_file.decode('# a comment\n\nA="1"\n# A="2"\n') == {"A": "1"}


@pytest.mark.parametrize(
    "line", ["A=1", 'A="1', 'A="a"b"', 'A="$x"', 'A="\\n"', ' A="1"', '1A="1"', 'A B="1"', 'A = "1"']
)
def test_a_line_encode_cannot_write_is_refused(line):
    with pytest.raises(ValueError, match="line 2 "):
        settings_file.decode(f'OK="1"\n{line}\n')


def test_not_strict_a_line_encode_cannot_write_still_gives_its_value():
    """For redaction: a secret on a line this charm would not write is still a secret."""
    text = 'GOOD="a"\nSECRET_KEY=old secret\nQUOTED="x" y\nno equals sign\n'
    with pytest.raises(ValueError):
        settings_file.decode(text)
    assert settings_file.decode(text, strict=False) == {
        "GOOD": "a",
        "SECRET_KEY": "old secret",
        "QUOTED": 'x" y',
    }


@pytest.mark.parametrize("name", ["", "1A", "A-B", "A B", "A\nB", "É"])
def test_a_name_that_is_no_variable_name_is_refused(name):
    with pytest.raises(ValueError, match="not a valid setting name"):
        settings_file.encode({name: "x"})


@pytest.fixture(scope="module")
def conf_reader(tmp_path_factory, demo_state_for_module):
    """Reads a settings text the way the rendered gunicorn.conf.py does: by running it."""
    directory = tmp_path_factory.mktemp("conf")

    def read(text: str) -> dict[str, str]:
        shutil.rmtree(directory)
        directory.mkdir()
        namespace = exec_conf(demo_state_for_module, directory, settings=text)
        received = dict(item.split("=", 1) for item in namespace["raw_env"])
        assert namespace["setting_names"] == ",".join(received)
        return received

    return read


@pytest.fixture(scope="module")
def demo_state_for_module():
    from charms.layer.wsgi_app.config import parse_config
    from charms.layer.wsgi_app.state import Machine, WsgiState

    return WsgiState(
        app_name="wsgi-app", config=parse_config({}), machine=Machine(2, 4 << 30), secret_key="k"
    )


@settings(max_examples=200, deadline=None)
@given(SETTINGS)
def test_every_value_survives_encode_then_decode_and_the_conf_reads_the_same(conf_reader, values):
    text = settings_file.encode(values)
    expected = {name: as_documented(value) for name, value in values.items()}
    assert settings_file.decode(text) == expected
    assert list(settings_file.decode(text)) == list(values)  # in order
    assert text.count("\n") == len(values)  # one line each
    text.encode("utf-8")  # a file can hold it
    assert conf_reader(text) == expected


def test_gunicorn_conf_holds_the_codec_verbatim(demo_state):
    source = Path(settings_file.__file__).read_text(encoding="utf-8")
    assert source in render_all(demo_state).gunicorn_conf


def test_the_renderer_writes_the_settings_with_the_codec(django_state):
    from charms.layer.wsgi_app.environment import app_settings

    text = render_all(django_state).settings
    assert settings_file.decode(text) == app_settings(django_state)
    assert text.endswith(settings_file.encode(app_settings(django_state)))


SYSTEMD_RUNNING = os.path.isdir("/run/systemd/system") and shutil.which("systemd-run") is not None


@pytest.mark.skipif(not SYSTEMD_RUNNING, reason="no running systemd manager: systemd-run cannot start a unit")
def test_systemd_reads_the_file_as_decode_does(tmp_path):
    values = {
        "QUOTES": "say \"hi\" 'there'",
        "SHELLISH": "$HOME ${PATH} `id` \\n \\",
        "PERCENT": "100% %i %%",
        "UNICODE": "héllo ✓ \u202e 𝄞",
        "CONTROL": "a\nb\tc\x7f",
        "SPACES": "  padded  ",
        "EMPTY": "",
    }
    path = tmp_path / "settings.env"
    path.write_text("# comment\n" + settings_file.encode(values), encoding="utf-8")
    path.chmod(0o644)
    tmp_path.chmod(0o755)
    result = subprocess.run(
        ["systemd-run", "--quiet", "--pipe", "--wait", "-p", f"EnvironmentFile={path}", "/usr/bin/env", "-0"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    seen = dict(item.split("=", 1) for item in result.stdout.decode("utf-8").split("\0") if item)
    decoded = settings_file.decode(path.read_text(encoding="utf-8"))
    assert {name: seen.get(name) for name in values} == decoded
