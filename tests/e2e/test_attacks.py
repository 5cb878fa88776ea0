"""Attacks on a serving unit from what the charm must not trust: the application
repository (links out of it, a ``setup.py`` and a ``release_command`` that go after the
charm's tree and leave processes behind), the charm's own links damaged, and an
``app_repo`` carrying credentials. (Hostile relation data on every endpoint is attacked
in test_relations.py, against the real servers' relations; the config and relation fuzz
in test_fuzz.py.)

Each asserts: the root-owned tree and system files are unchanged, no process of the
application user runs outside the service, the app keeps serving, and the status says why.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest
from localmodel import APP, LocalModel, http_get, report

from localjuju.driver import ShareRepo

URL = "http://127.0.0.1:8080"
ROOT = f"/srv/{APP}"
# what the charm and the system own: none of it may change owner, mode or type
GUARDED = ("/etc", "/etc/shadow", "/etc/passwd", "/root", ROOT, f"{ROOT}/releases", f"{ROOT}/venvs")
GUARDED += (f"{ROOT}/build", f"/etc/{APP}", f"/etc/{APP}/settings.env")
WSGI = """def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"VERSION\\n"]
"""
# what a hostile release_command tries, as the app user: move and replace the charm's
# directories with links to root's, read root's secrets, and leave processes running
TAMPER = (
    f"mv {ROOT}/releases {ROOT}/r; ln -sfn /etc {ROOT}/releases/evil; rm -rf {ROOT}/venvs; "
    f"ln -sfn /etc/shadow {ROOT}/current; ln -sfn /etc {ROOT}/build/x; "
    'cat /etc/shadow > "$APP_DATA_DIR/shadow"; '
    "setsid sleep 601 </dev/null >/dev/null 2>&1 & nohup sleep 602 >/dev/null 2>&1 & "
)
SETUP_PY = f"""import os, subprocess
from setuptools import setup

for path in ({ROOT!r} + "/releases", {ROOT!r} + "/venvs", {ROOT!r} + "/current", {ROOT!r} + "/data"):
    for attack in (lambda: os.rename(path, path + ".x"), lambda: os.symlink("/etc", path + "-evil")):
        try:
            attack()
        except OSError:
            pass
subprocess.Popen(["sleep", "603"], start_new_session=True, stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
open({ROOT!r} + "/.cache/setup-py-ran", "w").close()
setup(name="evilapp", version="1", py_modules=["wsgi"])
"""


@pytest.fixture(scope="module")
def repo(deployed: LocalModel, tmp_path_factory: pytest.TempPathFactory) -> ShareRepo:
    repo = ShareRepo(deployed.machine_share(), "target", tmp_path_factory.mktemp("work"))
    repo.commit({"wsgi.py": WSGI.replace("VERSION", "v1")}, "v1")
    deployed.config(app_repo=repo.url)
    assert http_get(f"{URL}/").body == "v1\n"
    return repo


def guarded(model: LocalModel) -> str:
    return model.sh("stat -c '%n %U %G %a %F' " + " ".join(GUARDED))


def app_processes_outside_the_service(model: LocalModel) -> list[str]:
    """The app user's processes whose cgroup is not one of the service's slots."""
    listing = model.sh(
        f"for pid in $(pgrep -u {APP}); do "
        'echo "$pid $(grep name=systemd /proc/$pid/cgroup || head -1 /proc/$pid/cgroup)'
        ' $(tr "\\0" " " < /proc/$pid/cmdline)"; done 2>/dev/null; true'
    )
    return [line for line in listing.splitlines() if line.strip() and f"/{APP}@" not in line]


def assert_serving(model: LocalModel, body: str) -> None:
    assert http_get(f"{URL}/").body == body
    assert model.sh(f"readlink {ROOT}/current").startswith("releases/")


def test_release_command_cannot_touch_the_tree_and_leaves_nothing_running(
    deployed: LocalModel, repo: ShareRepo
) -> None:
    before = guarded(deployed)
    deployed.config(release_command=TAMPER + 'echo ran > "$APP_DATA_DIR/ran"')
    unit = deployed.unit()
    assert unit["workload-status"] == "active", unit
    assert deployed.sh(f"cat {ROOT}/data/ran").strip() == "ran"  # it did run, as the app user
    assert deployed.sh(f"cat {ROOT}/data/shadow 2>/dev/null | wc -c").strip() == "0"
    assert guarded(deployed) == before
    assert deployed.sh(f"ls -A {ROOT}/releases | grep -c evil || true").strip() == "0"
    assert app_processes_outside_the_service(deployed) == []
    assert_serving(deployed, "v1\n")


def test_a_failing_or_timed_out_release_command_is_reaped_and_the_release_kept(
    deployed: LocalModel, repo: ShareRepo
) -> None:
    before = guarded(deployed)
    deployed.config(release_command="setsid sleep 604 </dev/null >/dev/null 2>&1 & echo boom; exit 3")
    unit = deployed.unit()
    assert unit["workload-status"] == "blocked" and "release_command failed" in unit["message"], unit
    assert "boom" in unit["message"], unit
    assert app_processes_outside_the_service(deployed) == []
    assert_serving(deployed, "v1\n")
    started = time.monotonic()
    deployed.config(release_command="sleep 605 & sleep 606", release_command_timeout="10")
    assert time.monotonic() - started < 120
    unit = deployed.unit()
    assert unit["workload-status"] == "blocked" and "timed out after 10s" in unit["message"], unit
    assert app_processes_outside_the_service(deployed) == []  # no migration left beside its retry
    assert guarded(deployed) == before
    assert_serving(deployed, "v1\n")
    deployed.config(release_command="", release_command_timeout="1800")
    assert deployed.unit()["workload-status"] == "active"


def test_build_steps_run_in_transient_units_sandboxed_like_the_service(
    deployed: LocalModel, repo: ShareRepo
) -> None:
    """While release_command runs, its transient unit is there to be scored."""
    scores: list[str] = []

    def watch() -> None:
        end = time.monotonic() + 90
        while time.monotonic() < end and not scores:
            units = deployed.sh(
                f"systemctl list-units --plain --no-legend '{APP}-build-release-*' || true"
            ).split()
            for unit in (u for u in units if u.endswith(".service")):
                report = deployed.sh(f"systemd-analyze security {unit} 2>&1 || true")
                facts = deployed.sh(f"systemctl show -p User,NoNewPrivileges,ProtectSystem {unit}")
                lines = [line for line in report.splitlines() if "Overall exposure level" in line]
                if lines and "User=" + APP in facts:
                    scores.extend([lines[0], facts])
            time.sleep(0.5)

    watcher = threading.Thread(target=watch)
    watcher.start()
    deployed.config(release_command="sleep 12")
    watcher.join()
    service = deployed.sh(f"systemd-analyze security {deployed.serving_unit()} 2>&1")
    service_line = next(line for line in service.splitlines() if "Overall exposure level" in line)
    assert scores, "no transient build unit seen while release_command ran"
    report(f"systemd-analyze: build step {scores[0].strip()}; service {service_line.strip()}")
    exposure = float(scores[0].split(":")[1].split()[0])
    assert exposure <= 1.3, scores
    assert float(service_line.split(":")[1].split()[0]) <= 1.3, service_line
    assert (
        f"User={APP}" in scores[1]
        and "NoNewPrivileges=yes" in scores[1]
        and "ProtectSystem=strict" in scores[1]
    )
    deployed.config(release_command="")


def test_a_setup_py_that_attacks_the_tree_is_contained(deployed: LocalModel, repo: ShareRepo) -> None:
    before = guarded(deployed)
    repo.commit({"setup.py": SETUP_PY, "wsgi.py": WSGI.replace("VERSION", "v2")}, "setup.py attack")
    result = deployed.action("redeploy")
    assert result["status"] == "completed", result
    assert deployed.sh(f"ls {ROOT}/.cache/setup-py-ran").strip()  # the attack ran, inside pip
    assert guarded(deployed) == before
    assert deployed.sh(f"ls -A {ROOT} | grep -c -e '-evil' -e '\\.x$' || true").strip() == "0"
    assert app_processes_outside_the_service(deployed) == []
    assert_serving(deployed, "v2\n")
    # the venv is root's: the app reads it and cannot change it
    venv = deployed.sh(f"stat -c '%U %G %a' $(readlink -f {ROOT}/current/venv)").split()
    assert venv[:2] == ["root", APP], venv
    os.unlink(repo.work / "setup.py")
    repo.commit({"wsgi.py": WSGI.replace("VERSION", "v2")}, "setup.py gone")
    assert deployed.action("redeploy")["status"] == "completed"


@pytest.mark.parametrize(
    ("name", "target"),
    [("shadow", "/etc/shadow"), ("up", "../../../../etc"), ("through", "loop/../release.json")],
    ids=["absolute", "parent", "link-then-parent"],
)
def test_links_out_of_the_repository_block_and_keep_the_release(
    deployed: LocalModel, repo: ShareRepo, name: str, target: str
) -> None:
    serving = http_get(f"{URL}/").body
    if name == "through":
        os.symlink(".", repo.work / "loop")
    os.symlink(target, repo.work / name)
    commit = repo.commit({"wsgi.py": WSGI.replace("VERSION", "v3")}, f"link {name}")
    result = deployed.action("redeploy")
    assert result["status"] == "failed", result
    unit = deployed.unit()
    assert unit["workload-status"] == "blocked" and unit["agent-status"] == "idle", unit
    assert "symlink pointing outside" in unit["message"] and repr(name) in unit["message"], unit
    assert_serving(deployed, serving)
    assert commit not in deployed.version()
    for link in (name, "loop"):
        if os.path.lexists(repo.work / link):
            os.unlink(repo.work / link)
    repo.commit({"wsgi.py": WSGI.replace("VERSION", "v2")}, "links gone")
    assert deployed.action("redeploy")["status"] == "completed"


def test_a_broken_current_link_or_release_json_blocks_without_touching_the_service(
    deployed: LocalModel,
) -> None:
    pid, serving = deployed.main_pid(), http_get(f"{URL}/").body
    target = deployed.sh(f"readlink {ROOT}/current").strip()
    for damage, words in (
        (f"ln -sfn current {ROOT}/current", "does not point to releases"),
        (f"ln -sfn releases/20990101000000-0000000 {ROOT}/current", "missing release"),
        (f"ln -sfn {target} {ROOT}/current && echo '{{broken' > {ROOT}/{target}/release.json", "damaged"),
    ):
        saved = deployed.sh(f"cat {ROOT}/{target}/release.json")
        deployed.sh(damage)
        deployed.config(environment=f"DAMAGE={hashlib.sha256(damage.encode()).hexdigest()[:8]}")
        unit = deployed.unit()
        assert unit["workload-status"] == "blocked" and unit["agent-status"] == "idle", unit
        assert words in unit["message"] and "keeps serving" in unit["message"], unit
        assert http_get(f"{URL}/").body == serving and deployed.main_pid() == pid
        deployed.sh(
            f"ln -sfn {target} {ROOT}/current && cat > {ROOT}/{target}/release.json <<'EOF'\n{saved}EOF"
        )
    deployed.config(environment="")
    assert deployed.unit()["workload-status"] == "active"


def test_credentials_in_app_repo_are_refused_and_never_repeated(
    deployed: LocalModel, repo: ShareRepo
) -> None:
    serving = http_get(f"{URL}/").body
    deployed.config(app_repo="https://deploy:tok3n-s3cret@example.org/acme/shop.git")
    unit = deployed.unit()
    assert unit["workload-status"] == "blocked" and "deploy_key" in unit["message"], unit
    assert (
        "tok3n-s3cret" not in str(unit) and "tok3n-s3cret" not in deployed.cli("debug-log", "--replay").stdout
    )
    assert_serving(deployed, serving)
    deployed.config(app_repo=repo.url)
    assert deployed.unit()["workload-status"] == "active"
