"""Drive a localjuju model of this charm from tests (localjuju.driver, shared with the
benchmarks), and talk HTTP to what it serves."""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bench.machine import APP, ROOT, SERVING, UNIT
from charms.layer.wsgi_app import settings_file
from localjuju import driver

T = TypeVar("T")
APACHE2_VHOST = ROOT / "files" / "apache2" / "vhost-balancer.conf"


def apache2_config() -> list[str]:
    """``deploy apache2`` arguments: the vhost template and modules README gives apache2 for
    ``balancer`` (the charm, like localjuju, serves nothing without them)."""
    template = base64.b64encode(APACHE2_VHOST.read_bytes()).decode()
    return ["--config", f"vhost_http_template={template}", "--config", "enable_modules=headers proxy_http"]


@dataclass
class Response:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def http_get(
    url: str, timeout: float = 10, headers: dict[str, str] | None = None, source: str = ""
) -> Response:
    """GET ``url`` (loopback only), optionally from another loopback ``source`` address."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname == "127.0.0.1" and parts.port, url
    assert not source or source.startswith("127."), source
    connection = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=timeout, source_address=(source, 0) if source else None
    )
    try:
        path = parts.path or "/"
        connection.request("GET", f"{path}?{parts.query}" if parts.query else path, headers=headers or {})
        answer = connection.getresponse()
        return Response(answer.status, answer.read().decode())
    finally:
        connection.close()


class KeptAlive:
    """One HTTP/1.1 connection reused for every request, as browsers and proxies keep
    theirs (loopback only). After an error the next request opens a new connection; a
    ``Connection: close`` answer is not an error (http.client reconnects by itself)."""

    def __init__(self, url: str, timeout: float = 30):
        parts = urllib.parse.urlsplit(url)
        assert parts.hostname == "127.0.0.1" and parts.port, url
        self.path = parts.path or "/"
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def get(self) -> Response:
        try:
            self.connection.request("GET", self.path)
            answer = self.connection.getresponse()
            return Response(answer.status, answer.read().decode())
        except BaseException:
            self.connection.close()
            raise


ISOLATED_NETWORK = "10.231.0."  # localjuju's model networks (deploy --isolated)


def netns_get(netns: str, url: str, timeout: float = 10) -> Response:
    """GET ``url`` on a model's own network, from inside its namespace ``netns`` (the
    server namespace, lj-<model>-srv): the request never touches the host's network."""
    from localjuju import network

    answer: list[Response] = []
    network.call_in(netns, lambda: answer.append(_get_on_model_network(url, timeout)))
    return answer[0]


SERVERS = ISOLATED_NETWORK + "2"  # the servers' address on a model's own network


def servers_netns(model: driver.LocalModel) -> str:
    """The namespace of the model's servers (apache2...) on its own network."""
    return f"lj-{model.name}-srv"


def site(model: driver.LocalModel) -> str:
    """The site's URL through the model's apache2, on the model's own network."""
    port = model.unit("apache2/0")["open-ports"][0].split("/")[0]
    return f"http://{SERVERS}:{port}"


def answering_units(model: driver.LocalModel, url: str, requests: int) -> Counter[str]:
    """Which units answered ``requests`` GETs of ``url`` (the demo's ``/request``, through a
    proxy on the model's own network), sent from its server namespace; each must succeed."""
    seen: Counter[str] = Counter()
    for _ in range(requests):
        answer = netns_get(servers_netns(model), url)
        assert answer.status == 200, answer
        seen[answer.json()["unit"]] += 1
    return seen


def proxy_errors(model: driver.LocalModel) -> list[str]:
    """apache2's own account of the requests it could not proxy (its error log's proxy lines),
    for the message of a failed assertion: which member, and whether the connection was
    refused, reset or closed before the status line."""
    log = Path(model.directory) / "servers" / "apache2-0" / "log" / "error.log"
    return [line for line in log.read_text(errors="replace").splitlines() if ":proxy" in line][-10:]


def _get_on_model_network(url: str, timeout: float) -> Response:
    parts = urllib.parse.urlsplit(url)
    assert (parts.hostname or "").startswith(ISOLATED_NETWORK) and parts.port, url
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path or "/"
        connection.request("GET", f"{path}?{parts.query}" if parts.query else path)
        answer = connection.getresponse()
        return Response(answer.status, answer.read().decode())
    finally:
        connection.close()


class LocalModel(driver.LocalModel):
    """A model of this charm, driven through localjuju's CLI as a user would (unit
    arguments default to wsgi-app/0, ``main_pid`` reads the serving slot)."""

    def __init__(self, name: str):
        super().__init__(name, app=APP, service=SERVING)

    def hooks_run(self, unit: str = UNIT) -> int:
        """How many hooks have run on ``unit`` so far (from the debug log)."""
        return self.debug_log(unit).count("Reactive main running for hook")

    def settings(self, unit: str = UNIT) -> dict[str, str]:
        """The settings the app gets on ``unit``, read from its settings file as the charm's
        own codec reads it."""
        return settings_file.decode(self.sh(f"cat /etc/{APP}/settings.env", unit=unit))

    # -- the operator's secrets (juju add-secret, grant-secret, update-secret) ---------------
    def _secret_args(self, content: dict[str, str], scratch: Path) -> list[str]:
        """``key#file=PATH`` for each value, written to a 0600 file: no value on a command line."""
        arguments = []
        for number, (key, value) in enumerate(content.items()):
            path = scratch / f"value-{number}"
            path.touch(mode=0o600)
            path.write_text(value)
            arguments.append(f"{key}#file={path}")
        return arguments

    def add_secret(self, name: str, content: dict[str, str]) -> str:
        """``add-secret NAME key=value...``: a secret of the model; its URI (``secret:<id>``)."""
        with tempfile.TemporaryDirectory(prefix="localjuju-secret-") as scratch:
            result = self.cli("add-secret", name, *self._secret_args(content, Path(scratch)))
        return result.stdout.strip()

    def grant_secret(self, name_or_uri: str, app: str = "") -> None:
        """``grant-secret NAME|URI APP`` (default: the model's application)."""
        self.cli("grant-secret", name_or_uri, app or self.app)

    def update_secret(self, name_or_uri: str, content: dict[str, str]) -> None:
        """``update-secret NAME|URI key=value...``: a new revision; the consumers' hooks run."""
        with tempfile.TemporaryDirectory(prefix="localjuju-secret-") as scratch:
            self.cli("update-secret", name_or_uri, *self._secret_args(content, Path(scratch)))

    def wait_serving(self, url: str, timeout: float = 60) -> Response:
        end = time.monotonic() + timeout
        last: Exception | Response | None = None
        while time.monotonic() < end:
            try:
                last = http_get(url, timeout=5)
                if last.status == 200:
                    return last
            except (OSError, http.client.HTTPException) as error:
                last = error
            time.sleep(0.5)
        raise AssertionError(f"{url} not serving after {timeout}s: {last}")


def publish_copies(bare: Path, copies: list[Path]) -> None:
    """Mirror the bare repository ``bare`` into ``copies`` (the same repository in other
    machines' shares), so that one ``file://`` URL names the same commits on every unit."""
    for copy in copies:
        subprocess.run(
            ["git", "clone", "--quiet", "--mirror", str(bare), str(copy)], check=False, capture_output=True
        )
        subprocess.run(
            ["git", "--git-dir", str(copy), "fetch", "--quiet", str(bare), "+refs/*:refs/*"], check=True
        )


def unit_names(model: LocalModel) -> list[str]:
    """The charm's units in the model, in the order of their numbers."""
    return sorted(model.status()["applications"][APP]["units"], key=lambda u: int(u.split("/")[1]))


class UnitsRepo:
    """An app repository at one ``file://`` URL on every unit's machine: a bare repository
    in the first unit's share (:class:`driver.ShareRepo`), mirrored into the others' after
    each commit."""

    def __init__(self, model: LocalModel, name: str, work: Path):
        names = unit_names(model)
        self.repo = driver.ShareRepo(model.machine_share(names[0]), name, work)
        self.url = self.repo.url
        self.copies = [model.machine_share(unit) / "repos" / f"{name}.git" for unit in names[1:]]

    def commit(self, files: dict[str, str], message: str) -> str:
        """Commit ``files`` and publish them on every unit; the commit's short hash."""
        commit = self.repo.commit(files, message)
        publish_copies(self.repo.bare, self.copies)
        return commit


def leader(model: LocalModel) -> str:
    """The charm's leader unit (exactly one)."""
    leaders = [u for u, info in model.status()["applications"][APP]["units"].items() if info["leader"]]
    assert len(leaders) == 1, leaders
    return leaders[0]


# `make soak` (E2E_SOAK=1): longer repeats than `make test` runs (ten rounds of every
# change under load instead of five, twice the fuzz)
SOAK = os.environ.get("E2E_SOAK", "") == "1"
REPORTS: list[str] = []  # lines the session's summary prints (fuzz seeds and counts, scores)


def wait_until(what: str, predicate: Callable[[], T], timeout: float, interval: float = 1.0) -> T:
    """The first true value of ``predicate()`` within ``timeout`` s (polled every
    ``interval`` s); fails the test, naming ``what``, when there is none."""
    value = driver.wait_for(predicate, timeout, interval)
    if not value:
        raise AssertionError(f"not within {timeout:.0f}s: {what}")
    return value


def report(line: str) -> None:
    """Keep ``line`` for the end of the run's output, where pytest does not hide it."""
    REPORTS.append(line)


class SteadyLoad:
    """Requests in a loop from a few threads while changes happen; counts what failed.

    Bounded: it stops when asked or after ``max_seconds``, whichever comes first.
    """

    def __init__(
        self,
        url: str,
        threads: int = 4,
        max_seconds: float = 300,
        netns: str = "",
        count: str = "",
        keep_alive: bool = False,
        pause: float = 0.01,
    ):
        """``netns``: send from that namespace (a model network's address); ``count``: a
        key of the JSON answers whose values are counted in :attr:`seen`; ``keep_alive``:
        each thread reuses one connection (:class:`KeptAlive`) instead of a new one per
        request; ``pause``: seconds each thread waits between requests (a steady load, not
        a flood: the suite shares two cores with the changes it loads)."""
        self.url = url
        self.keep_alive = keep_alive
        self.threads = threads
        self.pause = pause
        self.deadline = time.monotonic() + max_seconds
        self.netns = netns
        self.count = count
        self.seen: Counter[str] = Counter()
        self.ok = 0
        self.failures: list[str] = []
        self.failed_at: list[float] = []  # time.monotonic() of each failure
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    def _loop(self) -> None:
        if self.netns:
            from localjuju import network

            with network.entered(self.netns):
                self._requests(lambda: _get_on_model_network(self.url, 30))
        elif self.keep_alive:
            self._requests(KeptAlive(self.url).get)
        else:
            self._requests(lambda: http_get(self.url, timeout=30))

    def _requests(self, get: Any) -> None:
        while not self._stop.is_set() and time.monotonic() < self.deadline:
            value = ""
            try:
                answer = get()
                failed = "" if answer.status == 200 else f"HTTP {answer.status}"
                if not failed and self.count:
                    value = str(answer.json().get(self.count, ""))
            except (OSError, http.client.HTTPException, ValueError) as error:
                failed = f"{type(error).__name__}: {error}"
            with self._lock:
                if failed:
                    self.failures.append(failed)
                    self.failed_at.append(time.monotonic())
                else:
                    self.ok += 1
                    self.seen[value] += 1
            self._stop.wait(self.pause)

    def __enter__(self) -> SteadyLoad:
        for worker in self._workers:
            worker.start()
        time.sleep(1)
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(1)
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=60)
