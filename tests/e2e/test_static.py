"""Static files served by the unit itself: a Flask app with ``static_paths=/assets/=assets``
gets its stylesheet with the right type, gzip when asked, a 304 on revalidation and a
year of immutable caching for a content-hashed name, while its own routes still answer;
the served copies are root's; a directory the repository lacks blocks the unit with the
previous release serving; a new release serves its own copies, a rollback the previous ones."""

from __future__ import annotations

import gzip
import http.client
from pathlib import Path

import pytest
from apps import flask_files
from localmodel import APP, LocalModel, http_get

from localjuju.driver import ShareRepo

HOST, PORT = "127.0.0.1", 8080
CSS = "body { margin: 0; color: #123456; }\n" * 100  # large enough for the compressor to keep .gz
HASHED = "app.6f7c1a2b3d4e.css"


def fetch(path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """GET ``path`` on the unit (loopback): status, headers (by lower-case name), raw body."""
    connection = http.client.HTTPConnection(HOST, PORT, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        answer = connection.getresponse()
        return answer.status, {name.lower(): value for name, value in answer.getheaders()}, answer.read()
    finally:
        connection.close()


def assets(css: str) -> dict[str, str]:
    """The Flask app's files with ``css`` as its stylesheet."""
    return {**flask_files("v1"), "assets/site.css": css, f"assets/{HASHED}": CSS, "assets/js/app.js": "1;\n"}


@pytest.fixture(scope="module")
def static_repo(model: LocalModel, charm: Path, tmp_path_factory: pytest.TempPathFactory) -> ShareRepo:
    model.cli("deploy", str(charm))
    return ShareRepo(model.machine_share(), "flaskstatic", tmp_path_factory.mktemp("work"))


@pytest.fixture(scope="module")
def static_app(model: LocalModel, static_repo: ShareRepo) -> tuple[LocalModel, str]:
    version = static_repo.commit(assets(CSS), "flask with assets")
    model.config(app_repo=static_repo.url, static_paths="/assets/=assets")
    return model, version


def test_the_app_serves_and_its_assets_are_mounted(static_app: tuple[LocalModel, str]) -> None:
    model, version = static_app
    unit = model.unit()
    assert unit["workload-status"] == "active", unit
    assert unit["message"] == f"serving flaskstatic ({version}) on :8080", unit
    assert http_get(f"http://{HOST}:{PORT}/").body.startswith("hello from flask v1")  # the app's own route
    status, headers, body = fetch("/assets/site.css")
    assert status == 200 and body.decode() == CSS
    assert headers["content-type"] == 'text/css; charset="utf-8"'
    assert headers["cache-control"] == "max-age=60, public"
    assert headers["vary"] == "Accept-Encoding" and "content-encoding" not in headers
    assert fetch("/assets/js/app.js")[1]["content-type"].startswith("text/javascript")
    assert fetch("/assets/missing.css")[0] == 404  # Flask's own 404: not a file, so the app answers


def test_a_content_hashed_name_is_cached_for_a_year(static_app: tuple[LocalModel, str]) -> None:
    status, headers, _ = fetch(f"/assets/{HASHED}")
    assert status == 200 and headers["cache-control"] == "max-age=31536000, public, immutable"


def test_gzip_and_brotli_variants_are_served_when_asked(static_app: tuple[LocalModel, str]) -> None:
    status, headers, body = fetch("/assets/site.css", **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-encoding"] == "gzip" and headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(body).decode() == CSS and len(body) < len(CSS) // 10
    assert fetch("/assets/site.css", **{"Accept-Encoding": "gzip, br"})[1]["content-encoding"] == "br"


def test_revalidation_answers_304(static_app: tuple[LocalModel, str]) -> None:
    _, headers, _ = fetch("/assets/site.css")
    status, again, body = fetch("/assets/site.css", **{"If-None-Match": headers["etag"]})
    assert status == 304 and body == b"" and again["etag"] == headers["etag"]
    since = fetch("/assets/site.css", **{"If-Modified-Since": headers["last-modified"]})
    assert since[0] == 304


def test_the_served_copies_are_roots_and_compressed_at_build_time(static_app: tuple[LocalModel, str]) -> None:
    model, _ = static_app
    listing = model.sh(
        f"cd /srv/{APP}/current/static/0 && stat -c '%U %n' . site.css site.css.gz site.css.br"
    )
    assert listing.splitlines() == ["root .", "root site.css", "root site.css.gz", "root site.css.br"], (
        listing
    )
    conf = model.sh(f"cat /etc/{APP}/gunicorn.conf.py")
    assert 'wsgi_app = "wsgi_app_static:application("' in conf


def test_a_directory_missing_from_the_repository_blocks_and_the_release_keeps_serving(
    static_app: tuple[LocalModel, str],
) -> None:
    model, version = static_app
    model.config(static_paths="/assets/=assets /build/=dist")
    unit = model.unit()
    assert unit["workload-status"] == "blocked", unit
    assert "static_paths: dist is not in the repository" in unit["message"], unit
    assert model.version() == version and fetch("/assets/site.css")[0] == 200
    model.config(static_paths="/assets/=../etc")
    unit = model.unit()
    assert unit["workload-status"] == "blocked" and "invalid config static_paths" in unit["message"], unit
    model.config(static_paths="/assets/=assets")
    assert model.unit()["workload-status"] == "active", model.unit()


def test_a_new_release_serves_its_own_files_and_a_rollback_the_previous_ones(
    static_app: tuple[LocalModel, str], static_repo: ShareRepo
) -> None:
    """Each release serves the copies in its own directory: a redeploy switches to the new
    stylesheet, a rollback back to the old one (its mount is still in its release)."""
    model, v1 = static_app
    css_v2 = CSS.replace("#123456", "#abcdef")
    v2 = static_repo.commit(assets(css_v2), "a new stylesheet")
    result = model.action("redeploy")
    assert result["status"] == "completed" and model.version() == v2, result
    assert fetch("/assets/site.css")[2].decode() == css_v2
    result = model.action("rollback")
    assert result["status"] == "completed" and model.version() == v1, result
    assert fetch("/assets/site.css")[2].decode() == CSS
    assert http_get(f"http://{HOST}:{PORT}/").body.startswith("hello from flask v1")
