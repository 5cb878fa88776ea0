"""The wsgi-app charm's demo application: shows the settings the charm gave it and
checks, on every request, that each configured backend really works.

GET /         an HTML page: release, settings (secrets redacted), backends
GET /request  JSON {"client", "scheme", "unit"}: the request as the app sees it behind a
              proxy, and which unit answered it (APP_UNIT)
GET /env?NAME JSON: one setting (secrets redacted)
GET /healthz  JSON {"status": "ok"|"degraded", "backends": {...}}; 503 when degraded
"""

from __future__ import annotations

import html
import json
import os
import re
import socket
import sqlite3
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

# the charm's environment.looks_secret names (the demo cannot import the charm's code)
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|AUTH|CREDENTIAL|PRIVATE|(?:\A|_)KEY\Z|_DSN\Z")
SHOWN_PREFIXES = (
    "PORT",
    "WEB_CONCURRENCY",
    "APP_",
    "DATABASE_",
    "PG",
    "MEMCACHE_",
    "CACHE_",
    "ELASTICSEARCH_",
    "AWS_",
    "S3_",
    "FORWARDED_",
    "SECRET_KEY",
    "DEMO_",
    "GREETING",
)


def redacted(key: str, value: str) -> str:
    if SECRET_NAME.search(key.upper()):
        return "<redacted>" if value else ""
    parts = urlsplit(value) if "://" in value else None
    if parts and parts.password:
        return value.replace(f":{parts.password}@", ":<redacted>@")
    return value


def release_info() -> dict:
    try:
        return json.loads((Path.cwd().parent / "release.json").read_text())
    except (OSError, ValueError):
        return {}


# -- backends: each returns (ok, detail) ------------------------------------------------


def check_database(url: str) -> tuple[bool, str]:
    marker = uuid.uuid4().hex
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///") :], timeout=5) as db:
            db.execute("CREATE TABLE IF NOT EXISTS demo_visits (marker TEXT, at REAL)")
            db.execute("INSERT INTO demo_visits VALUES (?, ?)", (marker, time.time()))
            (found,) = db.execute("SELECT count(*) FROM demo_visits WHERE marker = ?", (marker,)).fetchone()
            (total,) = db.execute("SELECT count(*) FROM demo_visits").fetchone()
        return found == 1, f"sqlite: row written and read back ({total} visits)"
    found, total, name, port = visit_postgresql(url, marker)
    detail = f"postgresql {name} on port {port}: row written and read back ({total} visits)"
    readers = [u for u in os.environ.get("DATABASE_READ_URLS", "").split(",") if u]
    if readers:
        detail += f"; {check_readers(readers)} of {len(readers)} standbys answer"
    return found, detail


# each worker process keeps one PostgreSQL connection, as apps keep theirs (Django's
# CONN_MAX_AGE, a pool), shared by its threads one at a time: PostgreSQL checks a password
# when a connection starts only, so a password the server rotates costs no request: the
# workers serving go on with their connections, those of the reload that brings the new
# password connect with it
_kept: dict = {}  # the URL -> its connection (one at most)
_kept_lock = threading.Lock()
VISIT = (
    "CREATE TABLE IF NOT EXISTS demo_visits (marker TEXT, at DOUBLE PRECISION)",
    "INSERT INTO demo_visits VALUES (%(marker)s, %(at)s)",
    "SELECT count(*) FROM demo_visits WHERE marker = %(marker)s",
    "SELECT count(*), current_database(), inet_server_port() FROM demo_visits",
)


def visit_postgresql(url: str, marker: str) -> tuple[bool, int, str, int]:
    """Write ``marker`` and read it back on this process's connection to ``url`` (a new one
    when the URL changed or the kept one broke); (found, visits, database, port)."""
    import psycopg2

    with _kept_lock:
        for attempt in (1, 2):
            connection = _kept.get(url)
            if connection is None or connection.closed:
                _kept.clear()
                connection = _kept[url] = psycopg2.connect(url, connect_timeout=5)
            try:
                with connection, connection.cursor() as cursor:
                    answers = []
                    for statement in VISIT:
                        cursor.execute(statement, {"marker": marker, "at": time.time()})
                        answers.append(cursor.fetchone() if statement.startswith("SELECT") else None)
                (found,), (total, name, port) = answers[2], answers[3]
                return found == 1, total, name, port
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                connection.close()  # the server went away (a failover...): once more on a new one
                if attempt == 2:
                    raise
    raise AssertionError("unreachable")


def check_readers(urls: list[str]) -> int:
    """How many read-only standbys answer a query (they lag, so no marker check)."""
    import psycopg2

    answering = 0
    for url in urls:
        try:
            connection = psycopg2.connect(url, connect_timeout=3)
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
                    answering += cursor.fetchone() == (1,)
            finally:
                connection.close()
        except psycopg2.Error:
            continue
    return answering


def check_cache(servers: str) -> tuple[bool, str]:
    """Set and read back a key on every memcached server, one by one."""
    from pymemcache.client.base import Client

    marker = uuid.uuid4().hex
    failing = []
    nodes = [server for server in servers.split(",") if server]
    for server in nodes:
        host, _, port = server.rpartition(":")
        client = Client((host.strip("[]"), int(port)), connect_timeout=3, timeout=3)
        try:
            client.set("wsgi-app-demo", marker, expire=60, noreply=False)
            if (client.get("wsgi-app-demo") or b"").decode() != marker:
                failing.append(server)
        except Exception:  # reported as failing below
            failing.append(server)
        finally:
            client.close()
    if failing:
        return False, f"memcached: {len(failing)} of {len(nodes)} servers failing ({', '.join(failing)})"
    return True, f"memcached x{len(nodes)}: key set and read back on every server"


def check_search(urls: str) -> tuple[bool, str]:
    """Index a document and find it again, with the official client (Elasticsearch 8) or,
    for older servers the 8.x client refuses, with plain HTTP."""
    nodes = [url for url in urls.split(",") if url]
    marker = uuid.uuid4().hex
    try:
        from elasticsearch import Elasticsearch

        client = Elasticsearch(nodes, request_timeout=5)
        version = client.info()["version"]["number"]
        client.index(index="wsgi-app-demo", id=marker, document={"marker": marker}, refresh=True)
        hits = client.search(index="wsgi-app-demo", query={"term": {"marker": marker}})["hits"]
    except Exception as error:  # UnsupportedProductError from servers older than 8, or no client
        if "Unsupported" not in error.__class__.__name__ and not isinstance(error, ImportError):
            raise
        version, hits = search_over_http(nodes[0], marker)
    total = hits["total"]["value"] if isinstance(hits["total"], dict) else hits["total"]
    return total == 1, f"elasticsearch {version}: document indexed and found"


def search_over_http(url: str, marker: str) -> tuple[str, dict]:
    from urllib.request import Request, urlopen

    def call(method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = Request(f"{url}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urlopen(request, timeout=5) as answer:
            return json.loads(answer.read())

    version = call("GET", "/")["version"]["number"]
    call("PUT", f"/wsgi-app-demo/_doc/{marker}?refresh=true", {"marker": marker})
    found = call("POST", "/wsgi-app-demo/_search", {"query": {"term": {"marker": marker}}})
    return version, found["hits"]


def backends(environ: dict) -> dict[str, dict]:
    checks = {
        "database": (check_database, os.environ.get("DATABASE_URL", "")),
        "cache": (check_cache, os.environ.get("MEMCACHE_SERVERS", "")),
        "search": (
            check_search,
            os.environ.get("ELASTICSEARCH_URLS", os.environ.get("ELASTICSEARCH_URL", "")),
        ),
    }
    results = {}
    for name, (check, setting) in checks.items():
        if not setting:
            results[name] = {"configured": False, "ok": None, "detail": "not related"}
            continue
        try:
            ok, detail = check(setting)
        except Exception as error:  # the page reports any backend failure
            ok, detail = False, f"{error.__class__.__name__}: {str(error)[:200]}"
        results[name] = {"configured": True, "ok": ok, "detail": detail}
    return results


# -- the WSGI application ---------------------------------------------------------------


def health(environ: dict) -> tuple[str, dict]:
    found = backends(environ)
    healthy = all(b["ok"] is not False for b in found.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "backends": found,
        "release": release_info().get("version", ""),
    }
    return ("200 OK" if healthy else "503 Service Unavailable"), body


def page(environ: dict) -> str:
    release = release_info()
    settings = {
        k: redacted(k, v)
        for k, v in sorted(os.environ.items())
        if k.startswith(SHOWN_PREFIXES) or k in os.environ.get("DEMO_SHOW", "").split(",")
    }
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(v)}</code></td></tr>"
        for k, v in settings.items()
    )
    checks = "".join(
        f"<tr><th>{name}</th><td>{'ok' if b['ok'] else ('not related' if b['ok'] is None else 'FAILING')}"
        f"</td><td>{html.escape(b['detail'])}</td></tr>"
        for name, b in backends(environ).items()
    )
    client = client_address(environ)
    scheme = environ.get("wsgi.url_scheme", "")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>wsgi-app demo</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}
th{{text-align:left;padding-right:1em}}</style>
</head><body>
<h1>wsgi-app demo</h1>
<p>Served by <b>{html.escape(os.environ.get("APP_UNIT") or os.environ.get("APP_NAME", "?"))}</b>, release
<b>{html.escape(str(release.get("version", "?")))}</b> ({html.escape(str(release.get("id", "")))}),
worker pid {os.getpid()} on {html.escape(socket.gethostname())}.</p>
<p>Your request: client {html.escape(client)}, scheme {html.escape(scheme)}.</p>
<h2>Backends</h2><table>{checks}</table>
<h2>Settings received</h2><table>{rows}</table>
</body></html>
"""


def _bare(address: str) -> str:
    address = address.strip()
    return address[len("::ffff:") :] if address.startswith("::ffff:") else address


def client_address(environ) -> str:
    """The client's address: the peer's, or, when the peer is a proxy the charm trusts
    (FORWARDED_ALLOW_IPS, from the website relation), the last untrusted hop it forwarded."""
    peer = _bare(environ.get("REMOTE_ADDR", ""))
    trusted = {_bare(a) for a in os.environ.get("FORWARDED_ALLOW_IPS", "").split(",") if a.strip()}
    hops = [_bare(a) for a in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if peer not in trusted or not hops:
        return peer
    for hop in reversed(hops):
        if hop not in trusted:
            return hop
    return hops[0]


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/healthz":
        status, body = health(environ)
        payload = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]
    if path == "/request":  # what the app knows of the request, after any trusted proxy
        payload = json.dumps(
            {
                "client": client_address(environ),
                "scheme": environ.get("wsgi.url_scheme", ""),
                "unit": os.environ.get("APP_UNIT", ""),
            }
        ).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        )
        return [payload]
    if path == "/env":
        name = unquote(environ.get("QUERY_STRING", ""))
        value = os.environ.get(name)
        shown = redacted(name, value) if value is not None else ""
        payload = json.dumps({"name": name, "set": value is not None, "value": shown}).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        )
        return [payload]
    if path != "/":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    payload = page(environ).encode()
    start_response(
        "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


# what an app prints reaches the unit's journal with gunicorn's own lines
print(f"wsgi-app demo: loaded in worker {os.getpid()} of {os.environ.get('APP_UNIT', '?')}", file=sys.stderr)
