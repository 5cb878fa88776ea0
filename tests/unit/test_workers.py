from __future__ import annotations

from charms.layer.wsgi_app.workers import (
    auto_workers,
    effective_threads,
    effective_workers,
    worker_connections,
)

GIB = 1024**3


def test_twice_the_cores_plus_one_when_memory_allows():
    assert auto_workers(2, 24 * GIB) == 5
    assert auto_workers(16, 64 * GIB) == 33


def test_memory_caps_the_count():
    assert auto_workers(8, 1 * GIB) == 4  # 256 MiB each
    assert auto_workers(4, 100 * 1024**2) == 1  # never zero


def test_configured_count_wins():
    assert effective_workers(7, 2, GIB) == 7
    assert effective_workers(0, 2, 24 * GIB) == 5


def test_threads_only_for_gthread():
    assert effective_threads(0, "gthread") == 32
    assert effective_threads(3, "gthread") == 3
    assert effective_threads(8, "sync") == 1
    assert effective_threads(8, "gevent") == 1


def test_a_gthread_worker_holds_one_connection_more_than_its_threads():
    assert worker_connections(32, "gthread") == 33
    assert worker_connections(1, "gevent") == 1000
