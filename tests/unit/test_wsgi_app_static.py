"""files/wsgi_app_static.py: the release's WSGI app with its static mounts served by
WhiteNoise (types, cache headers, 304s, precompressed variants); the rest reaches the app."""

from __future__ import annotations

import gzip
import json
import sys

import pytest
from conftest import ROOT, file_module, tiny_app, wsgi_get
from whitenoise.compress import main as compress

WRAPPER = ROOT / "files" / "wsgi_app_static.py"
HASHED = "base.6f7c1a2b3d4e.css"
CSS = "body { color: #123456; }\n" * 200  # worth compressing


def load():
    return file_module("wsgi_app_static", WRAPPER)


get = wsgi_get


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    directory = tmp_path_factory.mktemp("assets")
    (directory / "site.css").write_text(CSS)
    (directory / HASHED).write_text(CSS)
    (directory / "js").mkdir()
    (directory / "js" / "main.0a1b2c3d4e5f6a7b8c9d.js").write_text("console.log(1);\n")
    compress(["--quiet", str(directory)])  # as the build does: .gz and .br beside the files
    return directory


@pytest.fixture(scope="module")
def served(assets):
    return load().wrap(tiny_app, [("/assets/", str(assets))])


def test_a_plain_name_is_served_with_its_type_and_a_short_max_age(served):
    status, headers, body = get(served, "/assets/site.css")
    assert status == "200 OK" and body.decode() == CSS
    assert headers["Content-Type"] == 'text/css; charset="utf-8"'
    assert headers["Cache-Control"] == "max-age=60, public"
    assert headers["ETag"] and headers["Last-Modified"]
    assert headers["Access-Control-Allow-Origin"] == "*"  # public files: fonts work from a CDN


@pytest.mark.parametrize("path", [f"/assets/{HASHED}", "/assets/js/main.0a1b2c3d4e5f6a7b8c9d.js"])
def test_a_content_hashed_name_is_cached_for_a_year_as_immutable(served, path):
    status, headers, _ = get(served, path)
    assert status == "200 OK"
    assert headers["Cache-Control"] == "max-age=31536000, public, immutable"


@pytest.mark.parametrize(
    ("name", "hashed"),
    [
        ("base.6f7c1a2b3d4e.css", True),  # Django's ManifestStaticFilesStorage
        ("main.0a1b2c3d4e5f6a7b8c9d.js", True),  # webpack [name].[contenthash].js
        ("chunk-3f9a2b1c.js", True),  # [name]-[hash].js
        ("app.css.6f7c1a2b3d4e.map", True),  # Django's name for a source map
        ("app.6f7c1a2b3d4e.css.map", True),  # a bundler's map of a hashed file
        ("site.css", False),
        ("jquery-3.7.1.min.js", False),  # a version is not a hash
        ("facade.deadbeef.css", False),  # letters only: a word
        ("report-20240101.pdf", False),  # digits only: a date, the file may be replaced
        ("icon.12345678.svg", False),
        ("logo.png", False),
    ],
)
def test_which_names_count_as_content_hashed(name, hashed):
    assert load().is_hashed("", f"/static/{name}") is hashed


def test_revalidation_with_the_etag_answers_304(served):
    _, headers, _ = get(served, "/assets/site.css")
    status, _, body = get(served, "/assets/site.css", if_none_match=headers["ETag"])
    assert status == "304 Not Modified" and body == b""


def test_the_gzip_variant_is_served_when_accepted_and_varies_on_it(served):
    status, headers, body = get(served, "/assets/site.css", accept_encoding="gzip")
    assert status == "200 OK" and headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body).decode() == CSS
    assert headers["Vary"] == "Accept-Encoding"
    _, plain_headers, plain = get(served, "/assets/site.css")
    assert "Content-Encoding" not in plain_headers and plain.decode() == CSS
    assert plain_headers["Vary"] == "Accept-Encoding"  # a cache must not answer gzip to others


def test_the_brotli_variant_is_preferred_when_accepted(served):
    _, headers, _ = get(served, "/assets/site.css", accept_encoding="gzip, br")
    assert headers["Content-Encoding"] == "br"


def test_the_apps_own_routes_and_missing_files_reach_the_app(served):
    assert get(served, "/hello")[2] == b"app saw /hello"
    assert get(served, "/assets/missing.css")[2] == b"app saw /assets/missing.css"
    assert get(served, "/assets/site.css.gz")[2] == b"app saw /assets/site.css.gz"  # variants are not files
    assert get(served, "/assets/../assets/site.css")[2].startswith(b"app saw")


def test_a_mount_at_the_root_serves_its_files_and_leaves_every_other_path_to_the_app(assets):
    """static_paths=/=public: only names that are files there are answered by WhiteNoise;
    "/" (no index file is served) and the app's routes still reach the app."""
    served = load().wrap(tiny_app, [("/", str(assets))])
    assert get(served, "/site.css")[1]["Content-Type"].startswith("text/css")
    assert get(served, "/")[2] == b"app saw /"
    assert get(served, "/js/")[2] == b"app saw /js/"  # a directory: no listing, no index
    assert get(served, "/hello")[2] == b"app saw /hello"


def test_application_wraps_the_releases_entry_point_with_its_mounts(assets, tmp_path, monkeypatch):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "tinyapp_for_static.py").write_text(
        "def make(greeting):\n"
        "    def app(environ, start_response):\n"
        "        start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "        return [greeting.encode()]\n"
        "    return app\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "app"))
    release = {"wsgi_app": "tinyapp_for_static:make('hi')", "static": [["/assets/", str(assets)]]}
    (tmp_path / "release.json").write_text(json.dumps(release))
    app = load().application(str(tmp_path))
    assert get(app, "/")[2] == b"hi"  # a factory, called as gunicorn calls it
    assert get(app, "/assets/site.css")[1]["Content-Type"].startswith("text/css")
    sys.modules.pop("tinyapp_for_static", None)
