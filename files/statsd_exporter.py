#!/usr/bin/python3
"""A small statsd-to-Prometheus bridge for gunicorn's instrumentation (wsgi-app charm).

Listens for statsd datagrams on UDP 127.0.0.1:PORT, keeps counters, gauges and
timing histograms in memory, and serves them in the Prometheus text format on
TCP PORT at /metrics, every series labelled with the Juju unit. Optionally relays
each datagram unchanged to another statsd server. Standard library only: Debian 12
has no statsd exporter package. Counts restart from zero when it restarts, which
Prometheus' rate() handles.
"""

import argparse
import math
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf)
STATUS = re.compile(r"(?P<base>.+)\.status\.(?P<code>\d{3})\Z")
# anything on the machine, the application included, may send datagrams: the series kept
# are bounded, and datagrams for a new series past the bound are counted, not kept
MAX_SERIES = 2000
KINDS = ("c", "g", "ms", "h")  # counter, gauge, timer (ms), histogram (s)


def metric_name(name):
    """gunicorn.request.duration -> gunicorn_request_duration (Prometheus charset)."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return cleaned if re.match(r"[A-Za-z_]", cleaned) else "_" + cleaned


def label_value(value):
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Store:
    """Every series seen so far; thread-safe."""

    def __init__(self, prefix, unit):
        self.prefix = prefix + "." if prefix else ""
        self.unit = unit
        self.lock = threading.Lock()
        self.counters = {}  # (name, labels) -> float
        self.gauges = {}
        self.histograms = {}  # (name, labels) -> [bucket counts..., sum, count]
        self.bad_lines = 0
        self.dropped = 0  # samples of new series past MAX_SERIES

    def feed(self, datagram):
        for line in datagram.decode("utf-8", "replace").splitlines():
            if line.strip():
                try:
                    self.line(line.strip())
                except (ValueError, IndexError):
                    with self.lock:
                        self.bad_lines += 1

    def line(self, line):
        name, _, rest = line.partition(":")
        fields = rest.split("|")
        value, kind = fields[0], fields[1]
        rate = 1.0
        for extra in fields[2:]:
            if extra.startswith("@"):
                rate = float(extra[1:]) or 1.0
        if self.prefix and name.startswith(self.prefix):
            name = name[len(self.prefix) :]
        labels = ()
        status = STATUS.match(name)
        if status:
            name, labels = status.group("base") + ".status", (("status", status.group("code")),)
        self.record((metric_name(name), labels), value, kind, rate)

    def _full(self, key):
        """Whether ``key`` is a new series past MAX_SERIES (then it is counted as dropped)."""
        if key in self.counters or key in self.gauges or key in self.histograms:
            return False
        if len(self.counters) + len(self.gauges) + len(self.histograms) < MAX_SERIES:
            return False
        self.dropped += 1
        return True

    def record(self, key, value, kind, rate):
        number = float(value)
        if kind not in KINDS:
            raise ValueError(kind)
        with self.lock:
            if self._full(key):
                return
            if kind == "c":
                self.counters[key] = self.counters.get(key, 0.0) + number / rate
            elif kind == "g":
                if value[:1] in "+-" and key in self.gauges:
                    self.gauges[key] += number
                else:
                    self.gauges[key] = number
            else:  # "ms" or "h", checked above
                seconds = number / 1000.0 if kind == "ms" else number
                series = self.histograms.setdefault(key, [0] * len(BUCKETS) + [0.0, 0])
                for index, bound in enumerate(BUCKETS):
                    if seconds <= bound:
                        series[index] += 1
                series[-2] += seconds
                series[-1] += 1

    def labels(self, labels, extra=()):
        pairs = (("unit", self.unit), *labels, *extra)
        return "{" + ",".join(f'{k}="{label_value(v)}"' for k, v in pairs) + "}"

    def render(self):
        out = []
        with self.lock:
            for (name, labels), value in sorted(self.counters.items()):
                out.append((name + "_total", "counter", f"{name}_total{self.labels(labels)} {value:g}"))
            for (name, labels), value in sorted(self.gauges.items()):
                out.append((name, "gauge", f"{name}{self.labels(labels)} {value:g}"))
            for (name, labels), series in sorted(self.histograms.items()):
                base = name + "_seconds"
                for index, bound in enumerate(BUCKETS):
                    le = "+Inf" if bound == math.inf else f"{bound:g}"
                    out.append(
                        (
                            base,
                            "histogram",
                            f"{base}_bucket{self.labels(labels, (('le', le),))} {series[index]}",
                        )
                    )
                out.append((base, "histogram", f"{base}_sum{self.labels(labels)} {series[-2]:.6f}"))
                out.append((base, "histogram", f"{base}_count{self.labels(labels)} {series[-1]}"))
            bad, dropped = self.bad_lines, self.dropped
        lines, typed = [], set()
        for family, kind, sample in out:
            if family not in typed:
                typed.add(family)
                lines.append(f"# TYPE {family} {kind}")
            lines.append(sample)
        lines.append("# TYPE statsd_exporter_bad_lines_total counter")
        lines.append(f"statsd_exporter_bad_lines_total{self.labels(())} {bad}")
        lines.append("# TYPE statsd_exporter_dropped_samples_total counter")
        lines.append(f"statsd_exporter_dropped_samples_total{self.labels(())} {dropped}")
        return "\n".join(lines) + "\n"


def receive(store, port, forward):
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", port))
    relay = None
    if forward:
        host, _, relay_port = forward.rpartition(":")
        relay = (host.strip("[]"), int(relay_port))
    sender = None
    while True:
        datagram = listener.recv(65535)
        store.feed(datagram)
        if relay is not None:
            try:
                if sender is None:
                    family = socket.getaddrinfo(*relay, type=socket.SOCK_DGRAM)[0][0]
                    sender = socket.socket(family, socket.SOCK_DGRAM)
                sender.sendto(datagram, relay)
            except OSError:
                sender = None  # DNS or network trouble: metrics are best effort


def serve(store, port):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = store.render().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass  # scrapes every few seconds would flood the journal

    class DualStack(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if socket.has_ipv6 else socket.AF_INET
        daemon_threads = True

        def server_bind(self):
            if self.address_family == socket.AF_INET6:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            super().server_bind()

    try:
        server = DualStack(("::" if socket.has_ipv6 else "0.0.0.0", port), Handler)
    except OSError:  # no IPv6 on this machine
        DualStack.address_family = socket.AF_INET
        server = DualStack(("0.0.0.0", port), Handler)
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="UDP (statsd in) and TCP (/metrics) port")
    parser.add_argument("--prefix", default="", help="statsd prefix to strip from names")
    parser.add_argument("--unit", required=True, help="value of the unit label")
    parser.add_argument("--forward", default="", help="host:port to relay every datagram to")
    args = parser.parse_args()
    store = Store(args.prefix, args.unit)
    threading.Thread(target=receive, args=(store, args.port, args.forward), daemon=True).start()
    serve(store, args.port)


if __name__ == "__main__":
    main()
