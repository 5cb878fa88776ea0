"""Logs and metrics on a real unit: the journal identifier and access-log format,
log_level, the logs action's redaction, and the Prometheus endpoint fed by statsd."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from localmodel import LocalModel, http_get, wait_until

PORT = 8091  # not 8080: other modules' apps may be serving there
METRICS_PORT = 9191
URL = f"http://127.0.0.1:{PORT}"
IDENTIFIER = "unit-wsgi-app-0"


@pytest.fixture(scope="module")
def unit(model: LocalModel, charm: Path) -> LocalModel:
    model.cli("deploy", str(charm), "--config", f"port={PORT}")
    model.wait_serving(f"{URL}/healthz")
    return model


def journal(model: LocalModel, since: str = "") -> str:
    extra = f" --since '{since}'" if since else ""
    return model.sh(f"journalctl --no-pager -o cat -t {IDENTIFIER}{extra}")


def secret_key(model: LocalModel) -> str:
    return model.settings()["SECRET_KEY"]


def test_access_log_lines_are_structured_under_the_unit_identifier(unit: LocalModel) -> None:
    http_get(f"{URL}/request?probe=observability-1", headers={"X-Forwarded-For": "203.0.113.7"})
    pattern = re.compile(
        r'remote=\S+ method=GET path="/request" query="probe=observability-1" status=200 '
        r'bytes=\d+ duration_us=\d+ ua="[^"]*" xff="203\.0\.113\.7"'
    )
    line = wait_until("the access-log line", lambda: pattern.search(journal(unit)), 20, 0.5)
    print(line.group(0))
    unit_text = unit.sh(f"systemctl show -P SyslogIdentifier {unit.serving_unit()}").strip()
    assert unit_text == IDENTIFIER


def test_the_apps_own_output_lands_in_the_journal_under_the_identifier(unit: LocalModel) -> None:
    wait_until(
        "the demo app's own stderr line",
        lambda: re.search(r"wsgi-app demo: loaded in worker \d+ of wsgi-app/0", journal(unit)),
        20,
        0.5,
    )


def test_log_level_debug_adds_debug_lines(unit: LocalModel) -> None:
    since = unit.sh("date '+%Y-%m-%d %H:%M:%S'").strip()
    assert "[DEBUG]" not in journal(unit)
    unit.config(log_level="debug")
    unit.wait_serving(f"{URL}/healthz")
    for _ in range(5):
        http_get(f"{URL}/healthz")
    wait_until("debug lines after log_level=debug", lambda: "[DEBUG]" in journal(unit, since), 20, 0.5)
    assert unit.unit()["workload-status"] == "active"


def test_bad_access_log_format_blocks_with_a_clear_message(unit: LocalModel) -> None:
    unit.config(access_log_format="%(nope)s")
    status = unit.unit()
    assert status["workload-status"] == "blocked", status
    assert "access_log_format" in status["message"] and "nope" in status["message"], status
    unit.config(access_log_format="")  # back to the default
    assert unit.unit()["workload-status"] == "active"


def test_logs_action_shows_recent_lines_without_the_secret(unit: LocalModel) -> None:
    secret = secret_key(unit)
    # a request carrying the secret in its query string puts it in the access log
    http_get(f"{URL}/request?token={secret}&probe=observability-logs")
    wait_until("the request in the journal", lambda: "observability-logs" in journal(unit), 20, 0.5)
    assert secret in journal(unit)  # it is in the journal...
    result = unit.action("logs", lines="50")
    assert result["status"] == "completed", result
    output = result["results"]["output"]
    assert "probe=observability-logs" in output  # ...recent lines are shown...
    assert secret not in output and "<redacted>" in output  # ...but not the secret
    assert len(output.strip().splitlines()) <= 50
    refused = unit.action("logs", lines="0")  # actions.yaml's minimum: refused before the charm runs
    assert refused["status"] == "refused" and "validation failed" in refused["message"], refused


def test_metrics_endpoint_counts_requests_and_latency(unit: LocalModel) -> None:
    unit.config(metrics_port=str(METRICS_PORT))
    unit.wait_serving(f"{URL}/healthz")
    metrics_url = f"http://127.0.0.1:{METRICS_PORT}/metrics"
    wait_until("the metrics endpoint", lambda: _get_ok(metrics_url), 20, 0.5)
    assert f"{METRICS_PORT}/tcp" in unit.unit()["open-ports"]
    before = _counter(http_get(metrics_url).body)
    requests = 25
    for _ in range(requests):
        assert http_get(f"{URL}/request").status == 200

    def timed(body: str) -> int:
        count = re.search(r'^gunicorn_request_duration_seconds_count\{unit="wsgi-app/0"\} (\d+)', body, re.M)
        return int(count.group(1)) if count else 0

    seen = [""]

    def counted() -> str | None:
        # gunicorn sends each request's count and duration as datagrams of their own: the
        # exporter may have the one and not yet the other
        seen[0] = body = http_get(metrics_url).body
        return body if _counter(body) >= before + requests and timed(body) >= requests else None

    try:
        body = wait_until("the request counter and the request durations", counted, 20, 0.5)
    except AssertionError as error:
        raise AssertionError(f"{error}; before={before}; last seen:\n{seen[0]}") from None
    print("\n".join(line for line in body.splitlines() if "gunicorn_request" in line)[:2000])
    assert _counter(body) >= requests and timed(body) >= requests, body
    assert re.search(r'^gunicorn_request_duration_seconds_sum\{unit="wsgi-app/0"\} [0-9.]+', body, re.M)
    assert re.search(r'^gunicorn_request_status_total\{unit="wsgi-app/0",status="200"\} \d+', body, re.M)
    unit.config(metrics_port="0")
    wait_until("the exporter to stop", lambda: not _get_ok(metrics_url), 20, 0.5)
    assert unit.unit()["workload-status"] == "active"


def _get_ok(url: str) -> bool:
    try:
        return http_get(url, timeout=3).status == 200
    except OSError:
        return False


def _counter(body: str) -> float:
    match = re.search(r'^gunicorn_requests_total\{unit="wsgi-app/0"\} ([0-9.e+]+)', body, re.M)
    return float(match.group(1)) if match else 0.0
