"""The rolling release's decision, pure: the order of the units, whether a unit's turn has
come, where the rollout stands on each unit's status, what a unit reports, and peer data
of the wrong shape."""

from __future__ import annotations

from dataclasses import replace

import pytest

from charms.layer.wsgi_app import rollout
from charms.layer.wsgi_app.relation_data.common import RawRelation, RemoteUnit
from charms.layer.wsgi_app.rollout import Failure, Peers, Report, Standing

OLD, NEW, NEWER = "0123456789abcdef", "fedcba9876543210", "00112233445566ff"
PREVIOUS = "0000111122223333"  # the release before OLD, that a rollback goes back to
SERVES_OLD, SERVES_NEW = Report(OLD, "0123456"), Report(NEW, "abc1234")
UNHEALTHY = Report(OLD, "0123456", Failure(NEW, "abc1234"))
ROLLED_BACK = Report(OLD, "0123456", Failure(NEW, "abc1234", rollout.ROLLED_BACK))


def peers(leader: str = "shop/0", **reports: Report) -> Peers:
    """The peers as ``shop/1`` sees them: the others' reports by unit number (``u0=...``)."""
    return Peers("cluster:1", leader, Report(), tuple((f"shop/{name[1:]}", r) for name, r in reports.items()))


def test_the_leader_goes_first_then_the_others_by_unit_number() -> None:
    units = ["shop/10", "shop/2", "shop/9", "shop/1"]
    assert rollout.order("shop/9", units) == ["shop/9", "shop/1", "shop/2", "shop/10"]
    assert rollout.order("shop/7", units) == ["shop/1", "shop/2", "shop/9", "shop/10"]  # gone: skipped
    assert rollout.order("", ["shop/1", "evil", "shop/0"]) == ["shop/0", "shop/1"]


# (case, the new release, the leader's published one, who leads, the peers' reports
#  (shop/1 asks, serving OLD), why it must wait: "" when its turn has come)
TURNS = [
    ("the leader serves it", NEW, NEW, "shop/0", {"u0": SERVES_NEW, "u2": SERVES_OLD}, ""),
    (
        "the leader has not released it",
        NEW,
        OLD,
        "shop/0",
        {"u0": SERVES_OLD},
        "rollout of abc1234: 0/2 switched, waiting for shop/0",
    ),
    (
        "the leader gave it up",
        NEW,
        OLD,
        "shop/0",
        {"u0": UNHEALTHY},
        "rollout of abc1234 halted at shop/0: health check failed",
    ),
    (
        "the unit before it has not switched",
        NEW,
        NEW,
        "shop/2",
        {"u0": SERVES_OLD, "u2": SERVES_NEW},
        "rollout of abc1234: 1/3 switched, waiting for shop/0",
    ),
    (
        "the unit before it was rolled back",
        NEW,
        NEW,
        "shop/2",
        {"u0": ROLLED_BACK, "u2": SERVES_NEW},
        "rollout of abc1234 halted at shop/0: rolled back",
    ),
    ("the units after it do not count", NEW, NEW, "shop/0", {"u0": SERVES_NEW, "u2": SERVES_OLD}, ""),
    (
        "a unit after it gave it up (it led then, or was rolled back): halted there",
        NEW,
        NEW,
        "shop/0",
        {"u0": SERVES_NEW, "u2": UNHEALTHY},
        "rollout of abc1234 halted at shop/2: health check failed",
    ),
    ("the leader left the relation", NEW, NEW, "shop/0", {"u2": SERVES_OLD}, ""),
    (
        "the leader is gone and nothing was released",
        NEW,
        OLD,
        "shop/0",
        {"u2": SERVES_OLD},
        "rollout of abc1234: waiting for the leader to release it",
    ),
    ("no peer relation (a single unit)", NEW, NEW, "shop/0", {}, ""),
]


@pytest.mark.parametrize(("case", "spec", "released", "leader", "reports", "waits"), TURNS)
def test_whether_a_units_turn_has_come(case, spec, released, leader, reports, waits) -> None:
    assert rollout.turn(spec, "abc1234", released, "shop/1", OLD, peers(leader, **reports)) == waits, case


def test_what_a_unit_gave_up_itself_does_not_hold_it_back() -> None:
    """The redeploy action on the unit where the rollout halted tries it again there."""
    mine = Peers("cluster:1", "shop/0", UNHEALTHY, (("shop/0", SERVES_NEW),))
    assert rollout.turn(NEW, "abc1234", NEW, "shop/1", OLD, mine) == ""


def test_leadership_moving_mid_rollout_lets_no_unit_jump_the_queue_or_pass_a_halt() -> None:
    """Once the leader released a release, the order is by unit number: a unit elected
    leader since waits for its turn (it would switch at once as the leader), and the unit
    where the rollout halted may still resume it."""
    switching = Peers("cluster:1", "shop/2", Report(OLD), (("shop/0", SERVES_NEW), ("shop/1", SERVES_OLD)))
    assert rollout.turn(NEW, "abc1234", NEW, "shop/2", OLD, switching) == (
        "rollout of abc1234: 1/3 switched, waiting for shop/1"
    )
    halted = replace(switching, others=(("shop/0", SERVES_NEW), ("shop/1", UNHEALTHY)))
    assert rollout.turn(NEW, "abc1234", NEW, "shop/2", OLD, halted) == (
        "rollout of abc1234 halted at shop/1: health check failed"
    )
    # the redeploy action on shop/1 (the new leader is shop/2, before it no more)
    on_halted = Peers("cluster:1", "shop/2", UNHEALTHY, (("shop/0", SERVES_NEW), ("shop/2", SERVES_OLD)))
    assert rollout.turn(NEW, "abc1234", NEW, "shop/1", OLD, on_halted) == ""
    shown = rollout.progress(NEW, "shop/0", SERVES_NEW, replace(halted, own=SERVES_NEW))
    assert shown.text == "rollout of abc1234 halted at shop/1: health check failed"


def test_a_leader_rolled_back_halts_the_rollout_and_resumes_it_itself() -> None:
    """The leader (shop/3, not first by number) rolled the released release back: nobody
    switches, and the redeploy action on the leader tries it again."""
    rolled_back = Peers("cluster:1", "shop/3", Report(OLD), (("shop/3", ROLLED_BACK), ("shop/2", SERVES_OLD)))
    assert rollout.turn(NEW, "abc1234", NEW, "shop/1", OLD, rolled_back) == (
        "rollout of abc1234 halted at shop/3: rolled back"
    )
    on_leader = Peers("cluster:1", "shop/3", ROLLED_BACK, (("shop/1", SERVES_OLD), ("shop/2", SERVES_OLD)))
    assert rollout.turn(NEW, "abc1234", NEW, "shop/3", OLD, on_leader) == ""


# (case, what shop/1 reports now, shop/0's and shop/2's reports, where the rollout of
#  abc1234 stands on shop/1 (after "rollout of abc1234"), whether shop/1 is held, at whom)
PROGRESS = [
    ("every unit serves it", SERVES_NEW, SERVES_NEW, SERVES_NEW, "", False, ""),
    (
        "this unit is next",
        SERVES_OLD,
        SERVES_NEW,
        SERVES_OLD,
        ": 1/3 switched, waiting for shop/1",
        True,
        "shop/1",
    ),
    (
        "this unit switched",
        SERVES_NEW,
        SERVES_NEW,
        SERVES_OLD,
        ": 2/3 switched, waiting for shop/2",
        False,
        "shop/2",
    ),
    (
        "halted here",
        UNHEALTHY,
        SERVES_NEW,
        SERVES_OLD,
        " halted at shop/1: health check failed",
        True,
        "shop/1",
    ),
    (
        "halted before",
        SERVES_OLD,
        UNHEALTHY,
        SERVES_NEW,
        " halted at shop/0: health check failed",
        True,
        "shop/0",
    ),
]


@pytest.mark.parametrize(("case", "mine", "u0", "u2", "text", "held", "at"), PROGRESS)
def test_where_the_rollout_of_the_released_release_stands(case, mine, u0, u2, text, held, at) -> None:
    expected = Standing(f"rollout of abc1234{text}", held, at) if text else Standing()
    assert rollout.progress(NEW, "shop/1", mine, peers("shop/0", u0=u0, u2=u2)) == expected, case


def test_a_newer_release_the_leader_gave_up_is_shown_on_every_unit() -> None:
    gave_up = Report(NEW, "abc1234", Failure(NEWER, "9999999"))
    standing = rollout.progress(NEW, "shop/1", SERVES_NEW, peers("shop/0", u0=gave_up))
    assert standing.text == "rollout of 9999999 halted at shop/0: health check failed"


def test_a_stale_failure_of_another_unit_is_not_shown() -> None:
    stale = Report(NEW, "abc1234", Failure(NEWER, "9999999"))
    assert rollout.progress(NEW, "shop/1", SERVES_NEW, peers("shop/0", u0=SERVES_NEW, u2=stale)) == Standing()


# (case, reported before, serving now, given up in this hook, a build worked, reported now)
REPORTS = [
    ("a new release", SERVES_OLD, (NEW, "abc1234"), None, True, SERVES_NEW),
    ("a health check failed", SERVES_OLD, (OLD, "0123456"), Failure(NEW, "abc1234"), False, UNHEALTHY),
    ("an idle hook keeps the failure", UNHEALTHY, (OLD, "0123456"), None, False, UNHEALTHY),
    ("a build that works clears it", UNHEALTHY, (OLD, "0123456"), None, True, SERVES_OLD),
    ("serving it clears it", UNHEALTHY, (NEW, "abc1234"), None, False, SERVES_NEW),
    ("nothing serves", Report(), ("", ""), None, False, Report()),
    (
        "a rollback where it halted keeps the halt",
        UNHEALTHY,
        (PREVIOUS, "7654321"),
        Failure(OLD, "0123456", rollout.ROLLED_BACK),
        False,
        Report(PREVIOUS, "7654321", Failure(NEW, "abc1234")),
    ),
    (
        "a rollback of what it switched to is told",
        SERVES_NEW,
        (OLD, "0123456"),
        Failure(NEW, "abc1234", rollout.ROLLED_BACK),
        False,
        ROLLED_BACK,
    ),
]


@pytest.mark.parametrize(("case", "before", "serving", "failure", "built", "expected"), REPORTS)
def test_what_a_unit_reports_after_a_hook(case, before, serving, failure, built, expected) -> None:
    assert rollout.next_report(before, serving, failure, built) == expected, case


def test_reports_travel_through_peer_data_unchanged() -> None:
    for report in (SERVES_NEW, UNHEALTHY, ROLLED_BACK, Report()):
        data = {key: value for key, value in report.data().items() if value}  # "" removes a key
        assert rollout.report_from(data) == report


@pytest.mark.parametrize(
    "data",
    [
        {rollout.SPEC: "../../etc", rollout.VERSION: "abc1234"},
        {rollout.SPEC: NEW.upper(), rollout.VERSION: "abc1234"},
        {rollout.SPEC: NEW + "\nx", rollout.VERSION: "abc\n1234"},
        {rollout.FAILED: "x" * 5000, rollout.REASON: "health check failed"},
    ],
)
def test_peer_data_of_the_wrong_shape_counts_as_absent(data) -> None:
    report = rollout.report_from(data)
    assert report.spec == "" and report.failed is None


def test_a_reason_that_is_not_ours_never_reaches_a_status() -> None:
    report = rollout.report_from({rollout.FAILED: NEW, rollout.REASON: "pwned; see http://evil"})
    assert report.failed == Failure(NEW, "", rollout.UNHEALTHY)
    assert rollout.standing(NEW, "", "shop/2", SERVES_OLD, peers(u1=report)).text == (
        "rollout of the new release halted at shop/1: health check failed"
    )


def test_peers_come_from_the_peer_relation_with_strangers_left_out() -> None:
    relation = RawRelation(
        "cluster:3",
        (
            RemoteUnit("shop/0", SERVES_NEW.data()),
            RemoteUnit("other/4", SERVES_NEW.data()),
            RemoteUnit("shop/1", SERVES_NEW.data()),  # ourselves, listed by a confused agent
        ),
        own={rollout.SPEC: OLD, "private-address": "10.0.0.2"},
    )
    found = rollout.peers_from([relation], "shop/0", "shop/1")
    assert found == Peers("cluster:3", "shop/0", Report(OLD), (("shop/0", SERVES_NEW),))
    assert rollout.peers_from([], "shop/0", "shop/1") == Peers(leader="shop/0")


def test_the_peers_are_read_once_a_hook_and_only_with_rolling(monkeypatch) -> None:
    from charms.layer.wsgi_app import relations, unit
    from charms.layer.wsgi_app.config import parse_config
    from charms.layer.wsgi_app.state import LEADER_UNIT_FIELD, Machine, WsgiState

    reads: list[str] = []
    seen = Peers("cluster:1", "shop/0", SERVES_OLD, (("shop/0", SERVES_NEW),))
    monkeypatch.setattr(relations, "gather_integrations", lambda: None)
    monkeypatch.setattr(relations, "read_peers", lambda leader: reads.append(leader) or seen)
    monkeypatch.setattr(unit, "leader_settings", lambda: {LEADER_UNIT_FIELD: "shop/0"})
    for mode, expected in (("all", Peers()), ("rolling", seen)):
        state = WsgiState("shop", parse_config({"rollout": mode}), Machine(2, 2**32), None)
        monkeypatch.setattr(unit, "desired_state", lambda integrations, state=state: state)
        assert unit.read_state().peers == expected  # type: ignore[union-attr]
    assert reads == ["shop/0"]


def test_a_report_is_published_only_where_it_changed(monkeypatch) -> None:
    from charmhelpers.core import hookenv

    from charms.layer.wsgi_app import relations

    sets: list[tuple[str, dict[str, str]]] = []
    monkeypatch.setattr(
        hookenv,
        "relation_set",
        lambda relation_id, relation_settings: sets.append((relation_id, relation_settings)),
    )
    relations.publish_report(Peers("cluster:1", own=SERVES_OLD), SERVES_OLD)
    relations.publish_report(Peers("", own=Report()), SERVES_OLD)  # no peer relation
    relations.publish_report(Peers("cluster:1", own=UNHEALTHY), SERVES_NEW)
    assert sets == [
        (
            "cluster:1",
            {
                rollout.SPEC: NEW,
                rollout.VERSION: "abc1234",
                rollout.FAILED: "",
                rollout.FAILED_VERSION: "",
                rollout.REASON: "",
            },
        )
    ]
