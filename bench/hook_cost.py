"""What the charm's hooks cost: ``update-status``, a no-op ``config-changed``, and a
full deploy on a fresh machine against the same steps done by hand.

* Idle hooks: on a deployed unit, ``localjuju run-hook`` of ``update-status`` and of
  ``config-changed`` with nothing changed, interleaved with a bare ``localjuju exec
  -- true`` (what the runner itself costs); gunicorn's MainPID must not change.
* Fresh deploy: the time from the first hook to ``active`` (localjuju's own timing of
  "running the hooks"; booting the machine is excluded) against the same result built
  by hand on a fresh machine of an empty charm: apt packages, a system user, git
  clone, venv, pip install, a unit file, ``systemctl start`` and a request that
  answers 200. Fresh machines alternate charm, hand, hand, charm...

Run: ``.venv/bin/python -m bench.hook_cost [--rounds 3] [--idle-rounds 5]`` (root).

Idle hooks of two builds side by side: ``--idle-only --baseline <built charm>`` deploys
both (the demo, each on its own machine and port), runs their idle hooks interleaved, and
prints the medians, the hook-tool calls each hook made (localjuju's debug log) and the
ratio new/baseline.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from bench.machine import (
    CHARM,
    GUNICORN,
    UNIT,
    bench_app_files,
    bench_repo,
    model,
    require_root,
    wait_serving,
)
from bench.stats import interleaved, median, ratio, table
from localjuju.driver import LocalModel

CHARM_PORT = 8104
HAND_PORT = 8105
BLANK_UNIT = "bench-blank/0"

# The steps an operator would type to serve the same application on a fresh machine.
HAND_STEPS = """\
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends git python3-venv ca-certificates >/dev/null
useradd --system --user-group --home-dir /srv/benchapp --shell /usr/sbin/nologin benchapp
install -d -o benchapp -g benchapp -m 0750 /srv/benchapp
cd /srv/benchapp
as_app() {{ runuser -u benchapp -- env HOME=/srv/benchapp "$@"; }}
# the repository belongs to root: trust it for this clone only, as the charm does
as_app git clone --quiet --upload-pack 'git -c safe.directory={path} upload-pack' {url} /srv/benchapp/app
as_app python3 -m venv /srv/benchapp/venv
as_app /srv/benchapp/venv/bin/pip install --quiet --disable-pip-version-check '{gunicorn}' \
    -r /srv/benchapp/app/requirements.txt
cat > /etc/systemd/system/benchapp.service <<EOF
[Unit]
Description=benchapp under gunicorn, set up by hand
[Service]
User=benchapp
WorkingDirectory=/srv/benchapp/app
ExecStart=/srv/benchapp/venv/bin/gunicorn --bind 127.0.0.1:{port} --workers 5 --threads 4 app:application
[Install]
WantedBy=multi-user.target
EOF
systemctl daemon-reload
systemctl enable --now --quiet benchapp.service
python3 - <<EOF
import time, urllib.request
for attempt in range(300):
    try:
        if urllib.request.urlopen("http://127.0.0.1:{port}/healthz", timeout=5).status == 200:
            break
    except OSError:
        time.sleep(0.2)
else:
    raise SystemExit("not serving")
EOF
"""


def hook_timeline(deploy_stderr: list[tuple[float, str]]) -> dict[str, float]:
    """Seconds per hook from localjuju's progress lines, each stamped when it arrived.

    A hook lasts from its "running hook" line to the next line; the last one ends at
    the "done in" line that closes "running the hooks". Raises ``ValueError`` when the
    lines hold no hook.
    """
    seconds: dict[str, float] = {}
    current: tuple[str, float] | None = None
    for at, line in deploy_stderr:
        if current is not None:
            seconds[current[0]] = seconds.get(current[0], 0.0) + at - current[1]
            current = None
        if found := re.search(r"running hook (\S+)", line):
            current = (found.group(1), at)
    if not seconds:
        raise ValueError("no hook in the deploy's output")
    return seconds


def bootstrap_seconds(debug_log: str) -> float | None:
    """The seconds the install hook's bootstrap (the charm's venv and wheelhouse) took,
    from the line it prints into the hook's output; None without that line."""
    found = re.search(r"hook install: bootstrap: .* in ([0-9.]+)s", debug_log)
    return float(found.group(1)) if found else None


def deploy_timed(local: LocalModel, charm: Path, **config: str | int) -> list[tuple[float, str]]:
    """``localjuju deploy``, every progress line stamped with when it arrived (monotonic)."""
    options = [arg for key, value in config.items() for arg in ("--config", f"{key}={value}")]
    command = local.command("deploy", str(charm), *options)
    lines: list[tuple[float, str]] = []
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=local.environment()
    ) as deploy:
        assert deploy.stderr is not None
        for line in deploy.stderr:
            lines.append((time.monotonic(), line.rstrip()))
    if deploy.returncode != 0:
        raise RuntimeError(f"deploy exited {deploy.returncode}: {lines[-20:]}")
    return lines


def blank_charm(directory: Path) -> Path:
    """A charm with no hooks: deploying it only boots a fresh machine."""
    charm = directory / "bench-blank"
    charm.mkdir()
    (charm / "metadata.yaml").write_text(
        "name: bench-blank\nsummary: an empty machine\ndescription: no hooks\nseries: [bookworm]\n"
    )
    return charm


def timed(action: Callable[[], object]) -> float:
    """Seconds ``action`` took."""
    start = time.monotonic()
    action()
    return time.monotonic() - start


@dataclass
class Idle:
    """Idle hook timings (seconds) per kind."""

    seconds: dict[str, list[float]] = field(default_factory=dict)

    def add(self, kind: str, value: float) -> None:
        self.seconds.setdefault(kind, []).append(value)


COST_LINE = re.compile(r" localjuju (\S+): ([0-9.]+)s, (\d+) hook-tool calls")


def hook_costs(log: str) -> dict[str, list[tuple[float, int]]]:
    """Each hook's own seconds (the runner excluded) and hook-tool calls, from localjuju's
    cost lines in ``log`` (its debug log), in order."""
    found: dict[str, list[tuple[float, int]]] = {}
    for hook, seconds, calls in COST_LINE.findall(log):
        found.setdefault(hook, []).append((float(seconds), int(calls)))
    return found


def idle_side_by_side(charms: dict[str, Path], rounds: int) -> str:
    """Idle hooks of each build on its own demo unit, interleaved with a bare ``exec``
    (the runner's own cost); medians of the wall time and of the hook alone, calls, ratios."""
    require_root()
    idle = {label: Idle() for label in charms}
    with contextlib.ExitStack() as stack:
        models = {}
        for number, (label, charm) in enumerate(charms.items()):
            local = stack.enter_context(model(f"bench-idle-{number}"))
            local.deploy(charm, port=CHARM_PORT + 2 * number)
            models[label] = (local, local.main_pid())
        kinds = ("update-status", "config-changed")
        for _, label in interleaved(list(charms), rounds):
            local, pid = models[label]
            for kind in kinds:
                idle[label].add(kind, timed(partial(local.cli, "run-hook", UNIT, kind)))
            idle[label].add("exec", timed(partial(local.cli, "exec", UNIT, "--", "true")))
            if local.main_pid() != pid:
                raise RuntimeError(f"{label}: an idle hook changed gunicorn's MainPID")
        costs = {
            label: hook_costs(local.cli("debug-log", "--replay", "--include", UNIT).stdout)
            for label, (local, _) in models.items()
        }
    rows = []
    for kind in kinds:
        for label in charms:
            own = costs[label].get(kind, [])[-rounds:]
            rows.append(
                [
                    kind,
                    label,
                    f"{median(idle[label].seconds[kind]):.2f}s",
                    f"{median([seconds for seconds, _ in own]):.2f}s",
                    f"{median([calls for _, calls in own]):.0f}",
                ]
            )
        if len(charms) == 2:  # a baseline was given
            first, second = (median(idle[label].seconds[kind]) for label in charms)
            rows.append([kind, "ratio", f"{ratio(first, second):.2f}", "", ""])
    runner = ", ".join(f"{label} {median(idle[label].seconds['exec']):.2f}s" for label in charms)
    return (
        f"Idle hooks side by side ({rounds} interleaved rounds, medians; no-op config-changed)\n\n"
        + table(["hook", "build", "run-hook (wall)", "hook alone", "hook-tool calls"], rows)
        + f"\n\nrunner (localjuju exec -- true, wall): {runner}\n"
    )


def idle_hooks(local: LocalModel, rounds: int) -> Idle:
    """update-status, no-op config-changed and a bare exec, interleaved; MainPID must stay."""
    pid = local.main_pid()
    idle = Idle()
    runs = {
        "update-status": lambda: local.cli("run-hook", UNIT, "update-status"),
        "config-changed (no-op)": lambda: local.cli("run-hook", UNIT, "config-changed"),
        "exec true (runner)": lambda: local.cli("exec", UNIT, "--", "true"),
    }
    for _, kind in interleaved(list(runs), rounds):
        idle.add(kind, timed(runs[kind]))
        if (now := local.main_pid()) != pid:
            raise RuntimeError(f"{kind} changed gunicorn's MainPID from {pid} to {now}")
    if local.unit()["workload-status"] != "active":
        raise RuntimeError(f"unit not active after idle hooks: {local.unit()}")
    return idle


@dataclass
class Deploys:
    """Fresh-deploy seconds: the charm's hooks in total and one by one, and the hand steps."""

    charm: list[float] = field(default_factory=list)
    hand: list[float] = field(default_factory=list)
    hooks: dict[str, list[float]] = field(default_factory=dict)


def charm_deploy(name: str, deploys: Deploys, idle_rounds: int, charm: Path = CHARM) -> Idle | None:
    """Deploy the charm on a fresh machine, recording its hook seconds (and idle hooks, if asked)."""
    with model(name) as local:
        repo = bench_repo(local.share())  # in place before the machine boots
        repo.commit(bench_app_files("v1"), "v1")
        lines = deploy_timed(local, charm, port=CHARM_PORT, app_repo=repo.url, health_check_path="/healthz")
        status = local.unit()
        if status["workload-status"] != "active":
            raise RuntimeError(f"charm deploy not active: {status}")
        wait_serving(CHARM_PORT, "/healthz", timeout=10)
        hooks = hook_timeline(lines)
        for hook, seconds in hooks.items():
            deploys.hooks.setdefault(hook, []).append(seconds)
        bootstrap = bootstrap_seconds(local.cli("debug-log", "--replay", "--include", UNIT).stdout)
        if bootstrap is not None:
            deploys.hooks.setdefault("install: of which bootstrap", []).append(bootstrap)
        deploys.charm.append(sum(hooks.values()))
        return idle_hooks(local, idle_rounds) if idle_rounds else None


def hand_deploy(name: str, blank: Path) -> float:
    """The same application by hand on a fresh machine: seconds of the steps."""
    with model(name) as local:
        repo = bench_repo(local.share())
        repo.commit(bench_app_files("v1"), "v1")
        local.deploy(blank)
        script = HAND_STEPS.format(
            url=repo.url, path=repo.url.removeprefix("file://"), gunicorn=GUNICORN, port=HAND_PORT
        )
        seconds = timed(lambda: local.sh(script, unit=BLANK_UNIT))
        wait_serving(HAND_PORT, "/healthz", timeout=10)
        return seconds


def run(rounds: int = 3, idle_rounds: int = 5, charm: Path = CHARM) -> str:
    """Fresh deploys by charm and by hand in interleaved rounds, idle hooks on the first; the report."""
    require_root()
    deploys = Deploys()
    idle: Idle | None = None
    with tempfile.TemporaryDirectory(prefix="bench-blank-") as scratch:
        blank = blank_charm(Path(scratch))
        for number, kind in interleaved(["charm", "hand"], rounds):
            print(f"-> round {number + 1}/{rounds}: {kind} deploy on a fresh machine", file=sys.stderr)
            name = f"bench-hook-{kind}-{number}"
            if kind == "charm":
                idle = charm_deploy(name, deploys, idle_rounds if idle is None else 0, charm) or idle
            else:
                deploys.hand.append(hand_deploy(name, blank))
            print(f"    {kind}: {getattr(deploys, kind)[-1]:.1f}s", file=sys.stderr, flush=True)
    return report(deploys, idle, rounds)


def report(deploys: Deploys, idle: Idle | None, rounds: int) -> str:
    charm, hand = median(deploys.charm), median(deploys.hand)
    idle_rows = [
        [kind, len(values), f"{median(values):.2f}s"] for kind, values in (idle or Idle()).seconds.items()
    ]
    deploy_rows = [
        ["charm: all hooks", f"{charm:.1f}s", ", ".join(f"{value:.1f}" for value in deploys.charm)],
        *(
            [f"charm: {hook}", f"{median(values):.1f}s", ", ".join(f"{value:.1f}" for value in values)]
            for hook, values in deploys.hooks.items()
        ),
        ["by hand: same steps", f"{hand:.1f}s", ", ".join(f"{value:.1f}" for value in deploys.hand)],
    ]
    return (
        f"Hook cost (medians; fresh deploys in {rounds} interleaved rounds)\n\n"
        + (
            table(["idle hook", "n", "median (gunicorn MainPID unchanged)"], idle_rows) + "\n\n"
            if idle_rows
            else ""
        )
        + table(["fresh deploy to serving", "median", "runs (s)"], deploy_rows)
        + f"\n\nratio charm/hand: {ratio(charm, hand):.2f} (target <= 2.0)\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle-rounds", type=int, default=5, help="0: fresh deploys only")
    parser.add_argument("--idle-only", action="store_true", help="idle hooks only, side by side")
    parser.add_argument("--baseline", type=Path, help="(--idle-only) the built charm to compare with")
    parser.add_argument(
        "--charm", type=Path, default=CHARM, help="the built charm whose fresh deploys are timed"
    )
    args = parser.parse_args()
    if args.idle_only:
        charms = {"this build": CHARM, **({"baseline": args.baseline} if args.baseline else {})}
        print(idle_side_by_side(charms, args.idle_rounds))
        return
    print(run(args.rounds, args.idle_rounds, args.charm))


if __name__ == "__main__":
    main()
