"""How many gunicorn workers, threads and connections to run when the operator leaves it
to the charm (the measurements behind these rules are in bench/README.md).

* workers: ``2 x cores + 1``, so that CPU-bound pages use every core;
* threads: 32 per gthread worker. Most pages wait on a database or an API, and a thread
  that waits costs memory, not CPU; 5 x 4 (the common default) saturates at 20 requests
  in flight, 0.3 of what 32 clients of a 50 ms page can get;
* worker_connections: ``threads + 1`` for gthread. gunicorn's gthread worker accepts
  greedily: with its default 1000, the first worker to wake takes nearly every new
  connection (28 of 32, median, in bench/README.md), and its threads queue them while the others
  idle. Capped at one connection above its threads, a busy worker leaves new connections
  to the others, and answers with ``Connection: close`` once it holds an idle one, so
  clients that keep their connection open come back through the socket and spread too.
"""

from __future__ import annotations

MIB = 1024 * 1024
MEMORY_PER_WORKER = 256 * MIB
DEFAULT_THREADS = 32
DEFAULT_CONNECTIONS = 1000  # gunicorn's own default, for gevent's greenlets


def auto_workers(cores: int, memory_bytes: int) -> int:
    """``2 x cores + 1``, capped so that every worker can have 256 MiB; at least 1."""
    by_cpu = 2 * max(1, cores) + 1
    by_memory = memory_bytes // MEMORY_PER_WORKER
    return max(1, min(by_cpu, by_memory))


def effective_workers(configured: int, cores: int, memory_bytes: int) -> int:
    """The configured count, or :func:`auto_workers` when it is 0."""
    return configured if configured > 0 else auto_workers(cores, memory_bytes)


def effective_threads(configured: int, worker_class: str) -> int:
    """Threads per worker: only gthread workers use more than one."""
    if worker_class != "gthread":
        return 1
    return configured if configured > 0 else DEFAULT_THREADS


def worker_connections(threads: int, worker_class: str) -> int:
    """Connections one worker holds at most (see the module's docstring)."""
    return threads + 1 if worker_class == "gthread" else DEFAULT_CONNECTIONS
