"""Static-file throughput: the unit (WhiteNoise in its gunicorn) vs. apache2 serving the
same files directly.

One machine, one unit of the charm with the default gunicorn settings, serving the
benchmark app with ``static_paths=/assets/=assets`` (a 6 KB stylesheet, a 120 KB script
with a content-hashed name, both precompressed at build time). The unit's served copy
(``/srv/wsgi-app/current/static/0``, with its ``.gz``/``.br`` variants) is copied byte for
byte to a host directory that Debian's apache2 serves at the same URLs, started as
localjuju starts it (``servers_apache2``: Debian's modules, its own config root) on the
same loopback and the same cores, with the precompressed ``.gz`` variant chosen by
mod_rewrite when the client accepts gzip and mod_deflate off (nothing compressed on the
fly: both sides send the same bytes) and keep-alive connections never closed for a
request count.

wrk on the host (2 threads, 32 keep-alive connections) fetches each case from both, in
interleaved rounds (unit, apache2, apache2, unit...); the result is the median per side
and case and their ratio unit/apache2. Before measuring, each case is fetched once from
both and must answer 200 with the same body and encoding. For scale, the app's own
cheapest page (``/healthz``) is measured through the unit once per case: what its
gunicorn serves with no file involved.

Run: ``.venv/bin/python -m bench.static_files [--rounds 3] [--seconds 5]`` (root; about
3 minutes). The unit listens on 127.0.0.1:8106, apache2 on 127.0.0.1:8107.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench import machine
from bench.machine import CHARM, bench_app_files, bench_repo, model, require_root, wait_serving
from bench.stats import interleaved, median, ratio, table
from localjuju import servers, servers_apache2

UNIT_PORT = 8106
APACHE_PORT = 8107
WRK_THREADS = 2
CONNECTIONS = 32
SIDES = ("unit", "apache2")
HASHED_JS = "app.3f9a2b1c4d5e6f70.js"
SHARED_COPY = "/var/lib/localjuju/bench-static"  # in the machine's share: the host reads it
APP_PAGE = "/healthz"  # the app's cheapest page: what the unit's gunicorn does without a file


@dataclass(frozen=True)
class Case:
    """One file fetched one way."""

    path: str
    gzip: bool

    @property
    def name(self) -> str:
        return f"{self.path}{' (gzip)' if self.gzip else ''}"

    @property
    def headers(self) -> tuple[str, ...]:
        return ("Accept-Encoding: gzip",) if self.gzip else ()


CASES = (
    Case("/assets/site.css", gzip=False),
    Case("/assets/site.css", gzip=True),
    Case(f"/assets/{HASHED_JS}", gzip=False),
    Case(f"/assets/{HASHED_JS}", gzip=True),
)


def asset_files() -> dict[str, str]:
    """The repository's static files: text that compresses as real CSS and JS do."""
    css = "".join(
        f".c{n} {{ margin: {n % 7}px {n % 5}px; color: #{n * 2654435761 % 0xFFFFFF:06x}; }}\n"
        for n in range(150)
    )
    js = "".join(f"function f{n}(a, b) {{ return a * {n} + b - {n * 7919 % 1000}; }}\n" for n in range(2000))
    return {"assets/site.css": css, f"assets/{HASHED_JS}": js}


def apache_vhost(directory: Path, listener: str) -> str:
    """The vhost serving ``directory`` at /assets/ as the unit does: the ``.gz`` variant to
    clients accepting gzip (with its type and ``Vary``), a short max-age."""
    return f"""\
<VirtualHost {listener}>
    KeepAlive On
    MaxKeepAliveRequests 0
    Alias /assets/ {directory}/
    <Directory {directory}>
        Require all granted
        Options -Indexes
        RewriteEngine On
        RewriteCond %{{HTTP:Accept-Encoding}} gzip
        RewriteCond %{{REQUEST_FILENAME}}.gz -f
        RewriteRule ^(.+)$ $1.gz [L]
        Header set Cache-Control "max-age=60, public"
        Header append Vary Accept-Encoding
    </Directory>
    <FilesMatch "\\.css\\.gz$">
        ForceType "text/css; charset=utf-8"
        Header set Content-Encoding gzip
    </FilesMatch>
    <FilesMatch "\\.js\\.gz$">
        ForceType "text/javascript; charset=utf-8"
        Header set Content-Encoding gzip
    </FilesMatch>
</VirtualHost>
"""


@contextlib.contextmanager
def apache2(directory: Path, port: int) -> Iterator[None]:
    """Debian's apache2 serving ``directory`` on 127.0.0.1:``port`` until the block ends."""
    root = Path(tempfile.mkdtemp(prefix="bench-static-apache2-"))
    listener = f"127.0.0.1:{port}"
    config = {"disable_modules": "status autoindex deflate", "enable_modules": "headers rewrite"}
    loaded = servers_apache2.modules(config, has_balancers=False)
    text = servers_apache2.render_config(listener, "127.0.0.1", loaded, {}, apache_vhost(directory, listener))
    try:
        servers_apache2.apply(root, listener, text)
        yield
    finally:
        servers.stop_pid(root / "apache2.pid")
        shutil.rmtree(root, ignore_errors=True)


def fetch(port: int, case: Case) -> tuple[int, str, bytes]:
    """Status, Content-Encoding and body of ``case`` on 127.0.0.1:``port``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", case.path, headers=dict(h.split(": ", 1) for h in case.headers))
        answer = connection.getresponse()
        return answer.status, answer.getheader("Content-Encoding") or "", answer.read()
    finally:
        connection.close()


def check_same(case: Case) -> None:
    """Both sides answer ``case`` with 200, the same encoding and the same bytes."""
    unit, apache = fetch(UNIT_PORT, case), fetch(APACHE_PORT, case)
    if unit[0] != 200 or unit != apache:
        raise RuntimeError(f"{case.name}: the unit answers {unit[:2]}, apache2 {apache[:2]} (or other bytes)")
    if (unit[1] == "gzip") != case.gzip:
        raise RuntimeError(f"{case.name}: answered with encoding {unit[1]!r}")


@dataclass
class Measurements:
    """req/s per (side, case name), one value per round."""

    rates: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    app_page: list[float] = field(default_factory=list)  # the unit's APP_PAGE, once per case

    def add(self, side: str, case: str, rate: float) -> None:
        self.rates.setdefault((side, case), []).append(rate)

    def median(self, side: str, case: str) -> float:
        return median(self.rates[(side, case)])


def report(data: Measurements, rounds: int, seconds: float) -> str:
    """The Markdown table: medians per side and case, and unit/apache2."""
    rows = []
    for case in CASES:
        unit, apache = data.median("unit", case.name), data.median("apache2", case.name)
        rows.append([case.name, f"{unit:.0f}", f"{apache:.0f}", f"{ratio(unit, apache):.2f}"])
    header = ["file", "unit req/s", "apache2 req/s", "unit/apache2"]
    return (
        f"Static files: median of {rounds} interleaved {seconds:g}s wrk runs "
        f"(-t{WRK_THREADS} -c{CONNECTIONS}, keep-alive) per side and case\n\n{table(header, rows)}\n\n"
        f"For scale: the app's own {APP_PAGE} (a few bytes of Python, no file) through the same unit, "
        f"median of {len(data.app_page)} runs: {median(data.app_page):.0f} req/s\n"
    )


def measure(rounds: int, seconds: float) -> Measurements:
    """wrk on every case, the two sides interleaved round by round."""
    data = Measurements()
    ports = {"unit": UNIT_PORT, "apache2": APACHE_PORT}
    for case in CASES:
        check_same(case)
        for side in SIDES:  # warm-up: workers scanned, connections open, caches warm
            machine.wrk(f"http://127.0.0.1:{ports[side]}{case.path}", 1, WRK_THREADS, CONNECTIONS)
        for number, side in interleaved(list(SIDES), rounds):
            print(f"-> round {number + 1}/{rounds}: {case.name} from {side}", file=sys.stderr, flush=True)
            url = f"http://127.0.0.1:{ports[side]}{case.path}"
            data.add(
                side, case.name, machine.wrk(url, seconds, WRK_THREADS, CONNECTIONS, headers=case.headers)
            )
        app_url = f"http://127.0.0.1:{UNIT_PORT}{APP_PAGE}"
        data.app_page.append(machine.wrk(app_url, seconds, WRK_THREADS, CONNECTIONS))
    return data


def run(rounds: int = 3, seconds: float = 5) -> str:
    """Deploy the app with its assets, serve the same files with apache2, measure; the report."""
    require_root()
    with model("bench-static") as local:
        repo = bench_repo(local.share())
        repo.commit({**bench_app_files("v1"), **asset_files()}, "v1 with assets")
        local.deploy(
            CHARM,
            port=UNIT_PORT,
            app_repo=repo.url,
            health_check_path="/healthz",
            static_paths="/assets/=assets",
        )
        wait_serving(UNIT_PORT, "/healthz")
        share = local.machine_share()
        local.sh(f"rm -rf {SHARED_COPY} && cp -a /srv/wsgi-app/current/static/0 {SHARED_COPY}")
        served = Path(tempfile.mkdtemp(prefix="bench-static-files-"))
        try:
            copy = served / "assets"
            shutil.copytree(share / Path(SHARED_COPY).name, copy)
            for path in [served, *served.rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)  # apache2 runs as www-data
            with apache2(copy, APACHE_PORT):
                data = measure(rounds, seconds)
        finally:
            shutil.rmtree(served, ignore_errors=True)
        return f"{machine.host_facts().line()}\n\n{report(data, rounds, seconds)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    print(run(args.rounds, args.seconds))


if __name__ == "__main__":
    main()
