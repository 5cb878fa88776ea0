"""Every charm config option, declared once: the fields of :class:`AppConfig`.

Each field is declared by :func:`option` with its Juju default, description, parser and
group; its Python type is the parsed value's, and :data:`OPTIONS` (what ``config.yaml``
and the README's config reference are generated from, ``make config``) is read off the
fields, so there is no second list. Parsers are small named functions in :mod:`.validate`
that convert a raw Juju value or raise ``ValueError`` with a message fit for a ``blocked``
status; :func:`.config.parse_config` runs them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from . import asgi, processes, schedules, validate
from .procfile import NO_RELEASE_COMMAND, Procfile, from_option
from .rollout import ALL, MODES

T = TypeVar("T")
JUJU_TYPES = {str: "string", int: "int", bool: "boolean"}


@dataclasses.dataclass(frozen=True)
class Option:
    """One config option: how Juju declares it and how the charm reads it."""

    name: str
    juju_type: str  # "string" | "int" | "boolean", from the default's type
    default: Any  # as Juju holds it (config.yaml)
    description: str
    parse: Callable[[Any], Any]
    group: str = "Application"


def option(
    default: str | int | bool,
    description: str,
    parse: Callable[[Any], T],
    group: str = "Application",
    secret: bool = False,
) -> T:
    """A field of :class:`AppConfig` declaring one option. Its default is ``parse(default)``;
    a ``secret`` one stays out of the config's repr. Typed as the parsed value, for mypy;
    it is a :func:`dataclasses.field` holding the :class:`Option` in its metadata."""
    declared = Option("", JUJU_TYPES[type(default)], default, description, parse, group)
    return dataclasses.field(
        default_factory=lambda: parse(default), repr=not secret, metadata={"option": declared}
    )


@dataclasses.dataclass(frozen=True)
class AppConfig:
    """The parsed charm config (:func:`.config.parse_config`): one field per option."""

    # -- what to serve --------------------------------------------------------------
    app_repo: str = option(
        "",
        "Git URL of the application to deploy: https://, ssh:// or user@host:path, git:// "
        "or file://. Empty serves the built-in demo application, which shows the "
        "settings and backends the charm wires in. A URL with credentials in it "
        "(https://user:token@host/...) is refused: it would reach git's command line, "
        "config and logs; reach a private repository over ssh with deploy_key.",
        validate.repo_url,
    )
    app_ref: str = option(
        "",
        "Branch, tag or commit of app_repo to deploy. Empty follows the repository's "
        "default branch. A branch is resolved again by the redeploy action.",
        validate.git_ref,
    )
    deploy_key: str = option(
        "",
        "Private SSH key (OpenSSH or PEM format) for cloning a private app_repo over ssh, "
        "e.g. a read-only deploy key, or, better, the URI of a Juju secret holding it under "
        "the key private-key (juju add-secret deploy-key private-key#file=KEYFILE; juju "
        "grant-secret deploy-key APP; deploy_key=secret:...), which keeps it out of the config "
        "(the next fetch uses a new revision). Kept root-owned, readable by the application "
        "user's group only (never by the running app), and never logged. Requires known_hosts.",
        validate.ssh_private_key_or_secret,
        secret=True,
    )
    known_hosts: str = option(
        "",
        "known_hosts lines pinning the git server's host keys (e.g. the output of "
        "'ssh-keyscan -t ed25519 git.example.org', checked out of band). With an ssh "
        "app_repo, host keys are always checked strictly.",
        validate.known_hosts,
    )
    wsgi_app: str = option(
        "",
        "Entry point of the application, WSGI or ASGI, as module:callable (e.g. "
        "mysite.wsgi:application or main:app). Empty detects it from a Procfile 'web:' line "
        "running gunicorn or uvicorn, a Django project's wsgi.py (or asgi.py when it has no "
        "wsgi.py), or a wsgi.py/app.py/asgi.py/main.py that defines 'application' or 'app'.",
        validate.wsgi_entry_point,
    )
    environment: Mapping[str, str] = option(
        "",
        "Extra settings for the application, one KEY=value per line (blank lines and "
        "lines starting with # are ignored). They are added to the settings the charm "
        "computes and may override them, except SECRET_KEY and the relation settings "
        "listed in the README.",
        validate.environment,
    )
    environment_secret: str = option(
        "",
        "URI of a Juju user secret (secret:..., as juju add-secret prints it) whose keys "
        "become extra settings, for credentials that must not sit in the config: each key's "
        "words upper-cased and joined by underscores (stripe-api-key -> STRIPE_API_KEY). "
        "Grant it to the application first (juju grant-secret NAME APP); a new revision "
        "(juju update-secret) reaches the app as a settings change. Its settings override "
        "environment's and are always redacted where settings are shown; the charm's own "
        "settings cannot be set this way.",
        validate.secret_uri,
    )
    hostnames: tuple[str, ...] = option(
        "",
        "Public names of the application, separated by spaces or commas: host names "
        "(www.example.com), IP addresses, or .example.com for a domain and all its "
        "subdomains; no scheme, port or path. With the unit's own addresses, localhost and "
        "the related proxies' addresses they become ALLOWED_HOSTS and DJANGO_ALLOWED_HOSTS; "
        "their https:// and http:// origins become CSRF_TRUSTED_ORIGINS.",
        validate.hostnames,
    )
    python_packages: tuple[str, ...] = option(
        "",
        "Extra Python requirements installed into the application's virtualenv, separated "
        "by spaces or newlines (e.g. 'sentry-sdk==2.* whitenoise').",
        validate.python_requirements,
    )
    apt_packages: tuple[str, ...] = option(
        "",
        "Extra Debian/Ubuntu packages the application needs (e.g. 'libpq5 gettext'), separated by spaces.",
        validate.apt_packages,
    )
    static_paths: tuple[tuple[str, str], ...] = option(
        "",
        "Static directories of the repository the unit serves itself, as "
        "/url-prefix/=directory entries separated by spaces or commas (e.g. "
        "'/assets/=assets /media/=public/media'). Each directory is copied into the "
        "release at build time, compressed (gzip and brotli variants) and served through "
        "WhiteNoise in front of the app: correct types, ETag and 304s, and a year of "
        "immutable caching for content-hashed names (base.6f7c1a2b3d4e.css). Files under "
        "a prefix that are not in the directory reach the app. WSGI applications only.",
        validate.static_paths,
    )
    procfile: Procfile | None = option(  # noqa: RUF009 - option() is a dataclasses.field
        "",
        "Procfile text (Heroku's format: one 'name: command' line per process type; # "
        "comments and blank lines are skipped) that replaces the repository's Procfile, for "
        "repositories that have none or whose Procfile does not suit this deployment. Its "
        "'web:' line may give the entry point, its 'release:' line the release command. "
        "Empty reads the repository's Procfile; a comment alone stands for an empty one.",
        from_option,
    )
    release_command: str = option(
        "",
        "Command run once per release, on the leader, in the new release's directory and "
        "virtualenv with the application's settings, before it serves traffic (e.g. "
        "'python manage.py migrate --noinput'). Empty runs the Procfile's 'release:' "
        "command, else, for a Django project (a manage.py at the repository's root naming "
        "its settings module, or DJANGO_SETTINGS_MODULE in environment, whose file is there), "
        f"'python manage.py migrate --noinput'; '{NO_RELEASE_COMMAND}' runs no command at all. "
        "If it fails the previous release keeps "
        "serving and the unit is blocked with the command's last output lines. It runs "
        "in a transient systemd unit with the service's sandbox, as the application user; "
        "when it ends, fails or times out, every process it started is stopped.",
        validate.shell_command,
    )
    release_command_timeout: int = option(
        1800,
        "Seconds release_command may run (10-86400). When they are up it is stopped, with "
        "everything it started, and the previous release keeps serving.",
        validate.bounded_int(10, 86400),
    )
    scheduled_jobs: tuple[schedules.Job, ...] = option(
        "",
        "Scheduled jobs, one 'name: schedule command' line each (# comments and blank lines "
        "are skipped), added to the Procfile's 'cron*' entries, which take the same form "
        "('cron-cleanup: 0 3 * * * python manage.py clearsessions'). The schedule is five "
        "cron fields (minute hour day-of-month month day-of-week; lists, ranges, steps, "
        "jan-dec and sun-sat) or @hourly, @daily, @weekly, @monthly, @yearly, in the "
        "machine's time zone. Each job is a systemd timer run on the leader only, in the "
        "serving release with the application's settings and the service's sandbox, as the "
        "application user; it never overlaps itself, its output is in the journal "
        "(journalctl -t <app>-cron-<name>) and a failed last run shows in the status.",
        schedules.from_option,
    )
    scheduled_job_timeout: int = option(
        3600,
        "Seconds a scheduled job may run (10-86400); when they are up it is stopped, with "
        "everything it started, and counts as failed.",
        validate.bounded_int(10, 86400),
    )
    health_check_path: str = option(
        "",
        "Path the unit requests, through the new gunicorn's own check socket, after every new "
        "release, rollback, handover and reload. Empty (the default) requests / and counts "
        "any answer below 500 as healthy (the app is up and routing, even if / answers 404); "
        "a path set here must answer 2xx or 3xx (e.g. /healthz). A release that fails it is "
        "stopped and the serving one kept.",
        validate.url_path,
    )
    keep_releases: int = option(
        3,
        "How many releases (code and virtualenv) to keep on disk for the rollback action (1-20).",
        validate.bounded_int(1, 20),
    )
    # -- maintenance mode -----------------------------------------------------------
    maintenance: bool = option(
        False,
        "Maintenance mode: while true, every unit answers every request with 503, a "
        "Retry-After header and maintenance_page, except requests for health_check_path and "
        "the charm's own health checks; releases and migrations still deploy. Turning it on "
        "or off takes effect at once, with no restart and no dropped request.",
        validate.boolean,
        "Maintenance",
    )
    maintenance_page: str = option(
        "",
        "The HTML page served in maintenance mode, as is (text/html; charset=utf-8; at most "
        "64 KiB of UTF-8). Empty serves a small built-in page.",
        validate.html_page,
        "Maintenance",
    )
    rollout: str = option(
        ALL,
        "How the units switch to a new release. 'all': each unit switches as soon as it has "
        "built it (once the leader has run the release command). 'rolling': one unit at a "
        "time, the leader first, then by unit number, each once the one before it reports "
        "the release healthy (peer relation); a unit whose new release fails its health "
        "check keeps the old one and halts the rollout there, the units after it keep "
        "serving the old release, and every unit's status says where the rollout stands. A "
        "new commit, or the redeploy action on the unit where it halted, resumes it.",
        validate.one_of(MODES),
    )
    # -- process types --------------------------------------------------------------
    process_counts: Mapping[str, int] = option(
        "",
        "Instances of each Procfile process type on every unit, as type=count items "
        "separated by spaces or commas (e.g. 'worker=3 beat=1'; 0-32). Every Procfile entry "
        "but web, release and cron* is a process type and runs one instance unless given "
        "here; 0 turns a type off. A type the Procfile does not declare is ignored (and "
        "logged). web is gunicorn: see workers.",
        processes.parse_counts,
        "Processes",
    )
    leader_processes: tuple[str, ...] = option(
        processes.DEFAULT_LEADER_PROCESSES,
        "Process types that run on the leader unit only (schedulers, which must run once per "
        "application), separated by spaces or commas, one instance each (a higher "
        "process_counts is logged and not followed; 0 still turns one off). When leadership "
        "moves they stop on the old leader and start on the new one.",
        processes.parse_types,
        "Processes",
    )
    process_stop_timeout: int = option(
        600,
        "Seconds a process type's instance has to finish its current task after SIGTERM "
        "(a release, config or relation change restarts them; 1-86400) before it is killed.",
        validate.bounded_int(1, 86400),
        "Processes",
    )
    # -- Django -----------------------------------------------------------------------
    django_production_settings: bool = option(
        True,
        "For a Django project (a manage.py naming its settings module): run it with the "
        "charm's production settings overlay, which imports the project's settings and "
        "completes only what startproject leaves for development: DEBUG off, a "
        "django-insecure- SECRET_KEY replaced by the charm's, STATIC_ROOT in the release when "
        "unset, content-hashed static file names when the default storage is used, and "
        "ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS from hostnames when empty. false runs the "
        "project's settings as they are.",
        validate.boolean,
        "Django",
    )
    django_collectstatic: bool = option(
        True,
        "For a Django project using django.contrib.staticfiles with a STATIC_ROOT (the "
        "overlay sets one): run collectstatic, confined, while each unit builds a release, "
        "and serve the files at STATIC_URL (unless it is a full URL). false skips both.",
        validate.boolean,
        "Django",
    )
    # -- how gunicorn runs it -------------------------------------------------------
    port: int = option(
        8080,
        "TCP port the application listens on (1024-65535). systemd holds the listening "
        "socket, so restarts never refuse a connection.",
        validate.port,
        "Gunicorn",
    )
    workers: int = option(
        0,
        "Number of gunicorn worker processes. 0 chooses automatically: 2 x CPU cores + 1, "
        "capped so that every worker can have 256 MiB of the machine's memory.",
        validate.bounded_int(0, 256),
        "Gunicorn",
    )
    worker_class: str = option(
        asgi.AUTO,
        "Gunicorn worker class: 'auto' (uvicorn for an ASGI application, gthread for a WSGI "
        "one, decided for each release from its entry point), 'gthread' (threads per worker, "
        "good for most WSGI apps), 'sync' (one request per process), 'gevent' (cooperative, "
        "installs gevent) or 'uvicorn' (ASGI apps such as FastAPI, Starlette or Django's "
        "asgi.py; installs uvicorn-worker).",
        validate.one_of(asgi.WORKER_CLASSES),
        "Gunicorn",
    )
    threads: int = option(
        0,
        "Threads per gthread worker. 0 chooses automatically (32: most pages wait on I/O, and "
        "a waiting thread costs no CPU); ignored by other worker classes. Each thread may hold a "
        "database connection: keep units x workers x threads below the database's limit.",
        validate.bounded_int(0, 256),
        "Gunicorn",
    )
    timeout: int = option(
        30,
        "Seconds a worker may spend on one request before gunicorn restarts it.",
        validate.bounded_int(1, 3600),
        "Gunicorn",
    )
    max_requests: int = option(
        2000,
        "Restart each worker after this many requests (guards against memory leaks); 0 disables.",
        validate.bounded_int(0, 10_000_000),
        "Gunicorn",
    )
    max_requests_jitter: int = option(
        200,
        "Random extra requests added per worker to max_requests, so workers do not all restart at once.",
        validate.bounded_int(0, 10_000_000),
        "Gunicorn",
    )
    memory_max: str = option(
        "75%",
        "The most memory the application's processes may use together (systemd's MemoryMax= "
        "of each service slot): a size (512M, 2G), a percentage of the machine's memory (75%) "
        "or infinity. Past it the kernel's OOM killer stops a worker and gunicorn starts another.",
        validate.memory_max,
        "Gunicorn",
    )
    tasks_max: int = option(
        4096,
        "The most processes and threads the application may run together (systemd's TasksMax= "
        "of each service slot), so that a runaway app cannot exhaust the machine's PIDs.",
        validate.bounded_int(64, 1_000_000),
        "Gunicorn",
    )
    log_level: str = option(
        "info",
        "Gunicorn log level: debug, info, warning, error or critical. debug also traces the "
        "charm's reactive flags and handlers in the Juju log.",
        validate.one_of(("debug", "info", "warning", "error", "critical")),
        "Gunicorn",
    )
    # -- logs and metrics -----------------------------------------------------------
    access_log_format: str = option(
        validate.DEFAULT_ACCESS_LOG_FORMAT,
        "Format of gunicorn's access log lines (in the journal under the unit's identifier, "
        "see the README), as gunicorn atoms: %(h)s client address, %(m)s method, %(U)s path, "
        "%(q)s query, %(s)s status, %(B)s bytes, %(D)s duration in microseconds, %(M)s in "
        "milliseconds, %(a)s user agent, %({header-name}i)s a request header (lower case). "
        "One line; empty restores the default key=value format.",
        validate.access_log_format,
        "Logs and metrics",
    )
    statsd_host: str = option(
        "",
        "host:port of a statsd server that receives gunicorn's request counters and "
        "timings (prefixed with the unit's name, e.g. unit-wsgi-app-0.gunicorn.requests). "
        "Empty sends none, unless metrics_port is set.",
        validate.statsd_address,
        "Logs and metrics",
    )
    metrics_port: int = option(
        0,
        "TCP port (1024-65535) of a Prometheus /metrics endpoint on each unit, fed by "
        "gunicorn's statsd instrumentation (request counts by status, latency histogram, "
        "workers); also forwarded to statsd_host when that is set. 0 turns it off.",
        validate.optional_port,
        "Logs and metrics",
    )
    # -- what the relations ask for -------------------------------------------------
    database_name: str = option(
        "",
        "Name of the database to request over the db (pgsql) and database "
        "(postgresql_client) relations. Empty uses the application's name.",
        validate.database_name,
        "Relations",
    )
    database_roles: tuple[str, ...] = option(
        "",
        "Comma-separated PostgreSQL roles the database user should be granted, requested "
        "over the db (pgsql) relation and as extra-user-roles over the database relation. "
        "Leave empty unless needed: the postgresql charm (14) blocks pgsql clients that ask "
        "for roles; over database it accepts createdb, createrole, superuser, admin and "
        "roles that exist, and 16 one of superuser, createdb, charmed_stats, charmed_read, "
        "charmed_dml, charmed_admin. Roles are fixed when the relation is made.",
        validate.database_roles,
        "Relations",
    )
    database_extensions: tuple[str, ...] = option(
        "",
        "Comma-separated PostgreSQL extensions the db (pgsql) relation asks for, each 'name' "
        "or 'name(schema)' (e.g. 'citext,hstore(extensions)'; 'name:schema' is read as "
        "'name(schema)'). The classic postgresql charm creates them. The postgresql charm (14) "
        "creates only what its plugin_<name>_enable options enable, in public, and blocks a "
        "relation asking for anything else: enable each there first (juju config postgresql "
        "plugin_citext_enable=true) and give no schema. The database (postgresql_client) "
        "relation cannot ask for extensions: enable them on the server.",
        validate.database_extensions,
        "Relations",
    )


OPTIONS: tuple[Option, ...] = tuple(
    dataclasses.replace(field.metadata["option"], name=field.name) for field in dataclasses.fields(AppConfig)
)
BY_NAME: dict[str, Option] = {option.name: option for option in OPTIONS}
