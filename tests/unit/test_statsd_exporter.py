"""files/statsd_exporter.py: gunicorn's statsd lines in, Prometheus text out."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request

from conftest import ROOT

EXPORTER = ROOT / "files" / "statsd_exporter.py"
GUNICORN_LINES = (  # as gunicorn's instrument/statsd.py sends them, prefix included
    b"unit-shop-0.gunicorn.request.duration:12.5|ms\n"
    b"unit-shop-0.gunicorn.requests:1|c|@1.0\n"
    b"unit-shop-0.gunicorn.request.status.200:1|c|@1.0"
)


def load():
    spec = importlib.util.spec_from_file_location("statsd_exporter", EXPORTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_requests_latency_status_and_workers_become_prometheus_series():
    module = load()
    store = module.Store("unit-shop-0", "shop/0")
    store.feed(GUNICORN_LINES)
    store.feed(b"unit-shop-0.gunicorn.request.duration:300|ms\nunit-shop-0.gunicorn.requests:1|c|@1.0")
    store.feed(b"unit-shop-0.gunicorn.workers:5|g\nunit-shop-0.gunicorn.request.status.404:1|c|@0.5")
    store.feed(b"garbage\nunit-shop-0.x:1|zz")
    u = 'unit="shop/0"'
    assert store.render() == "\n".join(
        [
            "# TYPE gunicorn_request_status_total counter",
            f'gunicorn_request_status_total{{{u},status="200"}} 1',
            f'gunicorn_request_status_total{{{u},status="404"}} 2',
            "# TYPE gunicorn_requests_total counter",
            f"gunicorn_requests_total{{{u}}} 2",
            "# TYPE gunicorn_workers gauge",
            f"gunicorn_workers{{{u}}} 5",
            "# TYPE gunicorn_request_duration_seconds histogram",
            f'gunicorn_request_duration_seconds_bucket{{{u},le="0.005"}} 0',
            f'gunicorn_request_duration_seconds_bucket{{{u},le="0.01"}} 0',
            f'gunicorn_request_duration_seconds_bucket{{{u},le="0.025"}} 1',
            f'gunicorn_request_duration_seconds_bucket{{{u},le="0.05"}} 1',
            f'gunicorn_request_duration_seconds_bucket{{{u},le="0.1"}} 1',
            f'gunicorn_request_duration_seconds_bucket{{{u},le="0.25"}} 1',
            f'gunicorn_request_duration_seconds_bucket{{{u},le="0.5"}} 2',
            f'gunicorn_request_duration_seconds_bucket{{{u},le="1"}} 2',
            f'gunicorn_request_duration_seconds_bucket{{{u},le="2.5"}} 2',
            f'gunicorn_request_duration_seconds_bucket{{{u},le="5"}} 2',
            f'gunicorn_request_duration_seconds_bucket{{{u},le="10"}} 2',
            f'gunicorn_request_duration_seconds_bucket{{{u},le="+Inf"}} 2',
            f"gunicorn_request_duration_seconds_sum{{{u}}} 0.312500",
            f"gunicorn_request_duration_seconds_count{{{u}}} 2",
            "# TYPE statsd_exporter_bad_lines_total counter",
            f"statsd_exporter_bad_lines_total{{{u}}} 2",
            "# TYPE statsd_exporter_dropped_samples_total counter",
            f"statsd_exporter_dropped_samples_total{{{u}}} 0",
            "",
        ]
    )


def test_series_are_bounded_and_samples_of_new_ones_past_the_bound_counted():
    module = load()
    store = module.Store("", "shop/0")
    store.feed("\n".join(f"flood.{n}:1|c" for n in range(module.MAX_SERIES + 50)).encode())
    store.feed(b"flood.0:1|c\nflood.new:1|g")  # a known series still counts; a new one does not
    assert len(store.counters) + len(store.gauges) == module.MAX_SERIES
    assert store.counters[("flood_0", ())] == 2
    assert store.render().endswith('statsd_exporter_dropped_samples_total{unit="shop/0"} 51\n')


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_exporter_process_serves_what_it_receives_and_relays_it():
    port, relay = free_port(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    relay.bind(("127.0.0.1", 0))
    relay.settimeout(5)
    forward = f"127.0.0.1:{relay.getsockname()[1]}"
    command = [sys.executable, str(EXPORTER), "--port", str(port), "--prefix", "unit-shop-0"]
    process = subprocess.Popen([*command, "--unit", "shop/0", "--forward", forward])
    try:
        body = ""
        for _ in range(50):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                sender.sendto(GUNICORN_LINES, ("127.0.0.1", port))
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
                    body = answer.read().decode()
                if "gunicorn_requests_total" in body:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        assert 'gunicorn_requests_total{unit="shop/0"}' in body
        assert relay.recv(65535) == GUNICORN_LINES
    finally:
        process.terminate()
        process.wait(timeout=10)
        relay.close()
