"""How many gunicorn workers and threads to run when the operator leaves it to the charm."""

from __future__ import annotations

MIB = 1024 * 1024
MEMORY_PER_WORKER = 256 * MIB
DEFAULT_THREADS = 4  # 8 served the I/O-bound bench page faster but cut connections on back-to-back reloads


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


def worker_connections(threads: int) -> int:
    """Connections one worker holds at most (gunicorn's default)."""
    return 1000
