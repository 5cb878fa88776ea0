"""Which unit may switch to a release that needs release_command (build.waits_for_leader) or
is rolled out one unit at a time (build.rollout_turn), and what the import check tells of
the entry point (build.IMPORT_CHECK)."""

import subprocess
import sys
from dataclasses import replace

import pytest
from conftest import SECRET

from charms.layer.wsgi_app.asgi import reported_asgi
from charms.layer.wsgi_app.build import IMPORT_CHECK, rollout_turn, waits_for_leader
from charms.layer.wsgi_app.config import parse_config
from charms.layer.wsgi_app.releases import Release
from charms.layer.wsgi_app.rollout import Peers, Report
from charms.layer.wsgi_app.source import Revision
from charms.layer.wsgi_app.state import Machine, WsgiState


@pytest.mark.parametrize(
    ("command", "leader", "released", "wanted"),
    [
        ("", False, "", False),  # nothing to run: every unit switches at once
        ("manage.py migrate", True, "", False),  # the leader runs it itself
        ("manage.py migrate", False, "", True),  # the leader has not run it yet
        ("manage.py migrate", False, "older", True),  # it ran it for another release
        ("manage.py migrate", False, "spec-1", False),  # it ran it for this one
    ],
)
def test_a_unit_waits_only_for_a_release_command_the_leader_has_not_run(
    command: str, leader: bool, released: str, wanted: bool
) -> None:
    assert waits_for_leader(command, leader, released, "spec-1") is wanted


OLD, NEW = "0" * 16, "f" * 16
SERVING = Release("20261201000000-0123456", "0" * 40, "shop", "0123456", "app", "/v", OLD, 0.0)
ROLLING = WsgiState(
    app_name="shop",
    config=parse_config({"rollout": "Rolling"}),
    machine=Machine(2, 2**32),
    secret_key=SECRET,
    unit_name="shop/2",
    released=NEW,
    peers=Peers("cluster:1", "shop/0", Report(OLD), (("shop/0", Report(NEW)), ("shop/1", Report(OLD)))),
)


def test_with_rolling_a_follower_switches_only_in_its_turn() -> None:
    assert (
        rollout_turn(ROLLING, NEW, "abc1234", SERVING)
        == "rollout of abc1234: 1/3 switched, waiting for shop/1"
    )
    its_turn = replace(ROLLING, peers=replace(ROLLING.peers, others=(("shop/0", Report(NEW)),)))
    assert rollout_turn(its_turn, NEW, "abc1234", SERVING) == ""  # shop/1 is gone: skipped


def test_with_rolling_the_leader_goes_first_unless_the_release_was_released_before_it_led() -> None:
    """A unit elected leader mid-rollout (shop/2 here) switches in its turn, not at once."""
    leads = replace(ROLLING, peers=replace(ROLLING.peers, leader="shop/2"))
    assert rollout_turn(leads, NEW, "abc1234", SERVING, leader=True) == (
        "rollout of abc1234: 1/3 switched, waiting for shop/1"
    )
    assert rollout_turn(replace(leads, released=OLD), NEW, "abc1234", SERVING, leader=True) == ""


def test_with_all_every_unit_switches_when_it_has_built() -> None:
    assert rollout_turn(replace(ROLLING, config=parse_config({})), NEW, "abc1234", SERVING) == ""


@pytest.mark.parametrize(
    ("code", "entry", "speaks_asgi"),
    [
        ("async def app(scope, receive, send):\n    pass\n", "mod:app", True),
        (
            "class Api:\n    async def __call__(self, scope, receive, send):\n        pass\n\napp = Api()\n",
            "mod:app",
            True,
        ),
        ("def application(environ, start_response):\n    return []\n", "mod", False),
        (
            "class Wsgi:\n    def __call__(self, environ, start_response):\n        return []\n\n"
            "def create():\n    print('made')\n    return Wsgi()\n",
            "mod:create()",
            False,
        ),
    ],
    ids=["coroutine-function", "asgi-object", "wsgi-function", "wsgi-factory"],
)
def test_the_import_check_says_whether_the_callable_is_asgi(tmp_path, code, entry, speaks_asgi):
    """build.IMPORT_CHECK as the charm runs it (python -c CHECK entry), on real modules."""
    (tmp_path / "mod.py").write_text(code)
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_CHECK, entry], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert reported_asgi(result.stdout) is speaks_asgi


def test_the_import_check_fails_on_what_is_not_callable(tmp_path):
    (tmp_path / "mod.py").write_text("app = 42\n")
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_CHECK, "mod:app"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode != 0 and "mod:app is not callable" in result.stderr


def test_app_output_in_a_status_line_has_the_apps_secrets_redacted():
    from charms.layer.wsgi_app.build import shown

    settings = {
        "DATABASE_URL": "postgresql://shop:pg-pass-1234@10.0.0.5/shop",
        "STRIPE_API_KEY": "sk_live_abcdef123456",
        "GREETING": "hello there",
    }
    output = (
        "connecting to postgresql://shop:pg-pass-1234@10.0.0.5/shop | "
        "stripe said no to sk_live_abcdef123456 | hello there"
    )
    assert shown(output, settings) == (
        "connecting to postgresql://shop:<redacted>@10.0.0.5/shop | "
        "stripe said no to <redacted> | hello there"
    )


def _repo_state(agreed: str = "", ref: str = "main", **options: str):
    from charms.layer.wsgi_app.state import Machine, build_state

    config = {"app_repo": "https://git.example.org/acme/shop.git", "app_ref": ref, **options}
    state = build_state("shop", config, {}, Machine(cores=2, memory_bytes=2 << 30))
    return replace(state, agreed_source=agreed)


FETCHED = Revision(commit="b" * 40, label="shop")


def test_the_leader_publishes_what_it_resolved_and_deploys_it() -> None:
    from charms.layer.wsgi_app.build import agreed_revision, source_id

    published: list[str] = []
    state = _repo_state()
    assert agreed_revision(state, FETCHED, published.append, lambda c: c) == FETCHED
    assert published == [f"{source_id(state)}:{'b' * 40}"]
    # already published: not again
    agreed_revision(replace(state, agreed_source=published[0]), FETCHED, published.append, lambda c: c)
    assert len(published) == 1


def test_a_follower_deploys_the_leaders_commit_not_its_own_fetch() -> None:
    from charms.layer.wsgi_app.build import agreed_revision, source_id

    state = _repo_state()
    leaders = replace(state, agreed_source=f"{source_id(state)}:{'a' * 40}")
    assert agreed_revision(leaders, FETCHED, None, lambda c: c).commit == "a" * 40


@pytest.mark.parametrize(
    "agreed",
    ["", "x:" + "a" * 40, "SOURCE:not-a-commit", "SOURCE:" + "a" * 39],
    ids=["nothing-yet", "other-source", "garbage", "short"],
)
def test_a_follower_waits_while_the_leader_has_not_published_for_this_source(agreed: str) -> None:
    from charms.layer.wsgi_app.build import agreed_revision, source_id
    from charms.layer.wsgi_app.errors import WaitingForLeader

    state = _repo_state()
    state = replace(state, agreed_source=agreed.replace("SOURCE", source_id(state)))
    with pytest.raises(WaitingForLeader, match="waiting for the leader to resolve main of shop"):
        agreed_revision(state, FETCHED, None, lambda c: c)


def test_a_leaders_commit_missing_from_the_follower_mirror_is_retried() -> None:
    from charms.layer.wsgi_app.build import agreed_revision, source_id
    from charms.layer.wsgi_app.errors import FetchError, RetryableError
    from charms.layer.wsgi_app.source import SourceError

    state = _repo_state()
    state = replace(state, agreed_source=f"{source_id(state)}:{'a' * 40}")

    def missing(commit: str) -> str:
        raise SourceError("no")

    with pytest.raises(FetchError, match="aaaaaaa, which the leader deploys") as error:
        agreed_revision(state, FETCHED, None, missing)
    assert isinstance(error.value, RetryableError)


def test_what_the_leader_published_itself_is_not_a_change_on_the_leader() -> None:
    """Else the hook after its own leader-set (update-status, which fetches again) would
    follow a moving branch: the e2e 'moving branch is only followed on request' caught it."""
    from charms.layer.wsgi_app.plan import Hook, fingerprint

    state = _repo_state()
    published = replace(state, agreed_source="abc:" + "a" * 40, released="spec-1")
    leader, follower = Hook("update-status", leader=True), Hook("update-status", leader=False)
    assert fingerprint(published, leader) == fingerprint(state, leader)
    assert fingerprint(published, follower) != fingerprint(state, follower)  # a follower must move


def test_leadership_is_read_once_per_hook_and_kept_current_by_our_own_writes(monkeypatch) -> None:
    from charms.layer.wsgi_app import unit

    calls: list[str] = []
    settings: dict[str, str] = {}
    monkeypatch.setattr(unit.hookenv, "is_leader", lambda: calls.append("is-leader") or True)
    monkeypatch.setattr(unit.hookenv, "leader_get", lambda: calls.append("leader-get") or dict(settings))
    monkeypatch.setattr(unit.hookenv, "leader_set", lambda values: settings.update(values))
    monkeypatch.setattr(unit.hookenv, "log", lambda *a, **k: None)
    monkeypatch.setattr(unit.juju_secrets, "available", lambda: False)  # Juju 2.9
    unit.ensure_secret_key()
    assert unit.is_leader() and unit.is_leader()
    assert unit.leader_settings() == settings and len(settings["secret_key"]) >= 50
    # is-leader again right before the write (the lease is 30 s); settings again only after it
    assert calls == ["is-leader", "leader-get", "is-leader", "leader-get"]
    monkeypatch.setattr(unit.hookenv, "is_leader", lambda: False)  # leadership moved meanwhile
    assert unit.leader_set({"x": "1"}) is False and "x" not in settings


def test_rotating_the_secret_key_is_refused_once_leadership_has_moved(monkeypatch) -> None:
    """is-leader is asked again right before the write: an action must not report a
    rotation that never happened."""
    from charms.layer.wsgi_app import unit
    from charms.layer.wsgi_app.errors import DeployError

    answers = iter([True, False])  # leads when the hook starts, not any more at the write
    monkeypatch.setattr(unit.hookenv, "is_leader", lambda: next(answers))
    monkeypatch.setattr(unit.hookenv, "leader_set", lambda values: pytest.fail("wrote as a non-leader"))
    monkeypatch.setattr(unit.hookenv, "leader_get", lambda: {"secret_key": "old"})  # Juju 2.9
    monkeypatch.setattr(unit.hookenv, "log", lambda *a, **k: None)
    assert unit.is_leader()
    with pytest.raises(DeployError, match="only the leader"):
        unit.rotate_secret_key()


def test_the_django_options_change_the_release_spec_only_when_not_the_defaults(demo_state) -> None:
    """A charm upgrade that brings the options must not rebuild every release."""
    from charms.layer.wsgi_app.build import source_inputs
    from charms.layer.wsgi_app.config import parse_config

    plain = source_inputs(demo_state, "demo-rev")
    assert not any(key.startswith("django") for key in plain)
    for raw in ({"django_collectstatic": False}, {"environment": "DJANGO_SETTINGS_MODULE=mysite.prod"}):
        changed = source_inputs(replace(demo_state, config=parse_config(raw)), "demo-rev")
        assert changed != plain and {k: v for k, v in changed.items() if not k.startswith("django")} == plain


def test_build_steps_get_the_releases_settings_over_the_apps_and_the_charms_modules(tmp_path) -> None:
    from charms.layer.wsgi_app.build import app_env
    from charms.layer.wsgi_app.releases import Release

    overlay = (("DJANGO_SETTINGS_MODULE", "wsgi_app_django_settings"),)
    release = Release(
        "1", "c", "shop", "c", "mysite.wsgi:application", "/srv/shop/venvs/k", "s", 0.0, environment=overlay
    )
    env = app_env(release, tmp_path, {"DJANGO_SETTINGS_MODULE": "mysite.settings", "PATH": "/evil", "X": "1"})
    assert env["DJANGO_SETTINGS_MODULE"] == "wsgi_app_django_settings" and env["X"] == "1"
    assert env["PYTHONPATH"] == f"{tmp_path}:/usr/local/lib/wsgi-app/python"
    assert env["PATH"].startswith("/srv/shop/venvs/k/bin:")


class Stop(Exception):
    """The build went past the leader check (to installing the venv)."""


def _follower_build(
    monkeypatch,
    tmp_path,
    files: dict[str, str],
    config: dict[str, str],
    released: str = "",
    serving: Release | None = None,
    fetched: list[str] | None = None,
    **changes: object,
):
    """build_release as a follower whose leader published the commit, with the machine steps
    faked: the export writes ``files``; installing the venv stops the build (:class:`Stop`).
    Whatever stops it, the new release's directory is gone."""
    from charms.layer.wsgi_app import build
    from charms.layer.wsgi_app import state as state_module
    from charms.layer.wsgi_app.paths import Paths

    def export(revision, mirror, target, account, demo_dir):
        for name, text in files.items():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_text(text)

    def install(*args):
        raise Stop

    at_tmp = classmethod(lambda cls, name: Paths(name, tmp_path, tmp_path, tmp_path))
    monkeypatch.setattr(state_module.Paths, "for_app", at_tmp)
    monkeypatch.setattr(build, "run_as", lambda state: type("Account", (), {"ids": (0, 0)})())
    monkeypatch.setattr(build.git_ssh, "git_ssh_environment", lambda config, paths: {})

    def fetch(*args, **kwargs):
        (fetched if fetched is not None else []).append(FETCHED.label)
        return FETCHED

    monkeypatch.setattr(build.source, "fetch", fetch)
    monkeypatch.setattr(build.ownership, "ensure_dir", lambda path, uid, gid, mode: path.mkdir())
    monkeypatch.setattr(build.source, "export", export)
    monkeypatch.setattr(build, "install", install)
    (tmp_path / "releases").mkdir(exist_ok=True)
    state = _repo_state(**config)
    state = replace(state, agreed_source=f"{build.source_id(state)}:{'b' * 40}", released=released)
    state = replace(state, **changes)  # type: ignore[arg-type]
    try:
        build.build_release(state, demo_dir=tmp_path, publish=None, report=lambda line: None, serving=serving)
    finally:
        assert list((tmp_path / "releases").iterdir()) == [], "the new release was left behind"


RELEASE_PROCFILE = {"Procfile": "release: python initdb.py\nweb: gunicorn app:app\n", "app.py": "app = 1\n"}
DJANGO_PROJECT = {
    "manage.py": "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n",
    "mysite/settings.py": "DEBUG = True\n",
    "mysite/wsgi.py": "application = get_wsgi_application()\n",
}
# a Flask-Script manage.py: no settings module, so no Django project and no migrate
FLASK_MANAGE = {"manage.py": "manager = Manager(app)\n", "app.py": "app = 1\n"}
PLAIN = {"app.py": "app = 1\n"}


@pytest.mark.parametrize(
    ("files", "config", "waits"),
    [
        (PLAIN, {}, False),  # nothing to run
        (RELEASE_PROCFILE, {}, True),  # the Procfile's release:
        (DJANGO_PROJECT, {}, True),  # Django's migrations
        (FLASK_MANAGE, {}, False),  # a manage.py alone is no Django project
        ({k: v for k, v in DJANGO_PROJECT.items() if k != "mysite/settings.py"}, {}, False),  # no settings
        (PLAIN, {"release_command": "./bin/setup"}, True),  # the option
        (RELEASE_PROCFILE, {"release_command": "none"}, False),  # turned off
        (DJANGO_PROJECT, {"release_command": "none"}, False),
        (RELEASE_PROCFILE, {"procfile": "web: gunicorn app:app\n"}, False),  # the option's Procfile has none
        (PLAIN, {"procfile": "release: python initdb.py\n"}, True),
    ],
)
def test_a_follower_waits_for_the_leader_when_the_effective_release_command_is_set(
    monkeypatch, tmp_path, files, config, waits
):
    from charms.layer.wsgi_app.errors import WaitingForLeader

    expected = WaitingForLeader if waits else Stop
    with pytest.raises(expected) as raised:
        _follower_build(monkeypatch, tmp_path, files, config)
    if waits:
        assert str(raised.value) == "waiting for the leader to run release_command for bbbbbbb"


def test_a_follower_goes_on_once_the_leader_ran_the_release_command(monkeypatch, tmp_path):
    from charms.layer.wsgi_app import build

    state = _repo_state()
    spec = build.release_spec(
        build.source_inputs(state, build.source.demo_revision(tmp_path).commit), "b" * 40
    )
    with pytest.raises(Stop):
        _follower_build(monkeypatch, tmp_path, RELEASE_PROCFILE, {}, released=spec)


def test_a_bad_procfile_in_the_repository_blocks_with_its_line(monkeypatch, tmp_path):
    from charms.layer.wsgi_app.errors import DeployError

    with pytest.raises(DeployError, match=r"shop \(bbbbbbb\): Procfile line 2 is not 'name: command'"):
        _follower_build(monkeypatch, tmp_path, {"Procfile": "web: a\nweb b\n"}, {})


def test_a_bad_scheduled_job_in_the_procfile_blocks_with_its_entry(monkeypatch, tmp_path):
    from charms.layer.wsgi_app.errors import DeployError

    procfile = {"Procfile": "web: gunicorn app:app\ncron-x: 0 24 * * * ./x\n", "app.py": "app = 1\n"}
    with pytest.raises(
        DeployError, match=r"shop \(bbbbbbb\): Procfile entry 'cron-x': job 'cron-x': hour: '24'"
    ):
        _follower_build(monkeypatch, tmp_path, procfile, {})


def test_a_process_type_whose_unit_is_another_applications_blocks(monkeypatch, tmp_path):
    """shop's ``api`` type would be shop-api@.service: the web service of an application
    shop-api on the same machine. Root must not overwrite it (nor remove it later)."""
    from charms.layer.wsgi_app.errors import DeployError

    (tmp_path / "shop-api@.service").write_text("[Service]\nEnvironmentFile=/etc/shop-api/settings.env\n")
    procfile = {"Procfile": "web: gunicorn app:app\napi: ./api\n", "app.py": "app = 1\n"}
    with pytest.raises(DeployError, match=r"shop \(bbbbbbb\): .* systemd unit shop-api@\.service"):
        _follower_build(monkeypatch, tmp_path, procfile, {})


def test_a_process_types_own_unit_from_an_earlier_release_is_no_clash(monkeypatch, tmp_path):
    (tmp_path / "shop-api@.service").write_text(f"[Service]\nEnvironmentFile={tmp_path}/settings.env\n")
    procfile = {"Procfile": "web: gunicorn app:app\napi: ./api\n", "app.py": "app = 1\n"}
    with pytest.raises(Stop):  # past the Procfile, at the virtualenv
        _follower_build(monkeypatch, tmp_path, procfile, {})


def test_a_procfile_job_named_like_an_options_job_blocks(monkeypatch, tmp_path):
    from charms.layer.wsgi_app.errors import DeployError

    procfile = {"Procfile": "web: gunicorn app:app\ncron-x: @daily ./x\n", "app.py": "app = 1\n"}
    with pytest.raises(DeployError, match=r"scheduled job 'x' is declared twice"):
        _follower_build(monkeypatch, tmp_path, procfile, {"scheduled_jobs": "x: @hourly ./y"})


@pytest.mark.parametrize(
    ("command", "released", "published"),
    [
        ("python initdb.py", "", ["spec-1"]),  # from the Procfile: release_command itself is unset
        ("python initdb.py", "spec-1", []),  # said already
        # no command (or a release made before the charm recorded it): said all the same, so
        # a unit added later, whose build finds Django's default, does not wait for ever
        ("", "", ["spec-1"]),
        ("", "spec-1", []),
    ],
)
def test_the_leader_says_it_ran_the_releases_own_command(monkeypatch, command, released, published):
    from charms.layer.wsgi_app import reconcile
    from charms.layer.wsgi_app.releases import Release

    said: list[str] = []
    monkeypatch.setattr(reconcile, "leader_set", lambda values: said.append(values["released_spec"]) or True)
    monkeypatch.setattr(reconcile.unit, "log", lambda *args, **kwargs: None)
    release = Release("20261201000000-bbbbbbb", "b" * 40, "shop", "bbbbbbb", "app:app", "/v", "spec-1", 0.0)
    state = replace(_repo_state(), released=released)
    assert state.config.release_command == ""
    reconcile._publish_released(state, replace(release, release_command=command))
    assert said == published


def test_a_project_forcing_its_settings_module_is_said_to_run_without_the_overlay(
    tmp_path, demo_state
) -> None:
    from charms.layer.wsgi_app import build, django
    from charms.layer.wsgi_app.config import parse_config

    (tmp_path / "mysite").mkdir()
    (tmp_path / "mysite" / "settings.py").write_text("DEBUG = True\n")
    (tmp_path / "mysite" / "wsgi.py").write_text(
        "import os\nos.environ['DJANGO_SETTINGS_MODULE'] = 'mysite.settings'\n"
    )
    (tmp_path / "manage.py").write_text(
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n"
    )
    said: list[str] = []
    project = build.django_project(demo_state, tmp_path, "mysite.wsgi:application", said.append)
    assert project == django.Project("mysite.settings", forces_settings=True)
    assert len(said) == 1 and "production settings are not applied; use os.environ.setdefault" in said[0]
    off = replace(demo_state, config=parse_config({"django_production_settings": False}))
    said.clear()
    assert (
        build.django_project(off, tmp_path, "mysite.wsgi:application", said.append) == project and said == []
    )


def test_with_rolling_a_follower_builds_nothing_before_its_turn(monkeypatch, tmp_path):
    """Held before the export: a unit waiting for its turn makes no release directory."""
    from charms.layer.wsgi_app.errors import WaitingForRollout

    with pytest.raises(WaitingForRollout, match=r"^rollout of bbbbbbb: 0/3 switched, waiting for shop/0$"):
        _follower_build(
            monkeypatch,
            tmp_path,
            PLAIN,
            {"rollout": "rolling"},
            serving=SERVING,
            unit_name="shop/2",
            peers=ROLLING.peers,
        )


def test_with_rolling_a_unit_with_nothing_serving_deploys_at_once(monkeypatch, tmp_path):
    """A unit added during a rollout has no old release to keep serving."""
    with pytest.raises(Stop):
        _follower_build(
            monkeypatch, tmp_path, PLAIN, {"rollout": "rolling"}, unit_name="shop/2", peers=ROLLING.peers
        )


def test_with_rolling_a_follower_waiting_for_its_turn_does_not_fetch(monkeypatch, tmp_path):
    """The leader's published commit says which release it would build: no git fetch at
    every hook (update-status included) while it waits; once its turn comes, it fetches."""
    from charms.layer.wsgi_app import build
    from charms.layer.wsgi_app.errors import WaitingForRollout

    state = _repo_state()
    spec = build.release_spec(
        build.source_inputs(state, build.source.demo_revision(tmp_path).commit), "b" * 40
    )
    fetched: list[str] = []
    waiting = {"serving": SERVING, "unit_name": "shop/2", "peers": ROLLING.peers, "released": spec}
    with pytest.raises(WaitingForRollout, match=r"^rollout of bbbbbbb: 0/3 switched, waiting for shop/0$"):
        _follower_build(monkeypatch, tmp_path, PLAIN, {"rollout": "rolling"}, fetched=fetched, **waiting)
    assert fetched == []
    its_turn = {**waiting, "peers": replace(ROLLING.peers, others=())}  # the others are gone
    with pytest.raises(Stop):
        _follower_build(monkeypatch, tmp_path, PLAIN, {"rollout": "rolling"}, fetched=fetched, **its_turn)
    assert fetched == ["shop"]
