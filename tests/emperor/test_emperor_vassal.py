"""The vassal state machine, driven with a fake clock: every edge, the throttle, broken, on-demand."""

from __future__ import annotations

import pytest

from satrap.emperor.vassal import (
    TRANSITIONS,
    Forget,
    Kill,
    Listen,
    Log,
    Policy,
    Send,
    Spawn,
    State,
    Vassal,
)
from satrap.emperor.wire import ToEmperor as E
from satrap.emperor.wire import ToVassal as V


def kinds(actions: list) -> list:
    return [a for a in actions if not isinstance(a, Log)]


def running(policy: Policy | None = None, t: float = 0.0) -> Vassal:
    v = Vassal("/v/app.ini", "app.ini", policy or Policy(throttle=1.0, max_throttle=5.0, mercy=30.0))
    assert kinds(v.start(t)) == [Spawn()]
    v.spawned(100, t)
    return v


def test_spawn_ready_loyal() -> None:
    v = running()
    assert v.state is State.SPAWNING
    v.message(E.SPAWNED, 0.1)
    assert v.ready and v.state is State.SPAWNING
    v.message(E.ACCEPTING, 0.2)
    assert v.state is State.READY and v.accepting
    v.message(E.LOYAL, 0.3)
    assert v.state is State.LOYAL and v.loyal


def test_touch_reloads_and_comes_back() -> None:
    v = running()
    v.message(E.ACCEPTING, 0.1)
    v.message(E.LOYAL, 0.2)
    assert kinds(v.file_changed(1.0)) == [Send(V.RELOAD)]
    assert v.state is State.RELOADING
    assert kinds(v.file_changed(1.1)) == [Send(V.RELOAD)]  # touched again meanwhile
    v.message(E.SPAWNED, 1.5)
    v.message(E.ACCEPTING, 1.6)
    assert v.state is State.LOYAL  # it was loyal before the reload
    assert v.pid == 100 and v.respawns == 0  # a reload is not a respawn


def test_unconfirmed_reload_times_out() -> None:
    v = running(Policy(reload_timeout=10.0))
    v.message(E.ACCEPTING, 0.1)
    v.file_changed(1.0)
    assert v.next_deadline() == 11.0
    assert v.tick(5.0) == []
    assert v.tick(11.0) and v.state is State.READY


def test_removed_file_stops_gracefully_then_kills() -> None:
    v = running(Policy(mercy=30.0))
    v.message(E.ACCEPTING, 0.1)
    assert kinds(v.file_removed(1.0)) == [Send(V.GRACEFUL_STOP)]
    assert v.state is State.STOPPING and v.next_deadline() == 31.0
    assert v.tick(30.9) == []
    assert kinds(v.tick(31.0)) == [Kill()]
    assert v.tick(32.0) == []  # killed once
    assert kinds(v.died(-9, 31.1)) == [Forget()]
    assert v.state is State.GONE


def test_quick_stop_after_graceful() -> None:
    v = running()
    v.stop(0.5)
    assert kinds(v.stop(0.6, quick=True)) == [Send(V.STOP)]


def test_throttle_grows_caps_and_resets_on_loyalty() -> None:
    v = running(Policy(throttle=1.0, max_throttle=3.0))
    delays = []
    t = 0.0
    for _ in range(5):
        t += 10
        v.died(1, t)
        assert v.state is State.THROTTLED
        delays.append(v.respawn_at - t)
        assert v.tick(v.respawn_at - 0.01) == []
        assert kinds(v.tick(v.respawn_at)) == [Spawn()]
        v.spawned(200, v.respawn_at)
    assert delays == [1.0, 2.0, 3.0, 3.0, 3.0]
    assert v.respawns == 5
    v.message(E.ACCEPTING, t + 5)
    v.message(E.LOYAL, t + 5)
    assert v.fast_deaths == 0
    actions = v.died(-9, t + 6)  # a loyal vassal: respawned at once
    assert kinds(actions) == [Spawn()] and v.state is State.SPAWNING
    assert any("died (killed by signal 9 (SIGKILL)), respawning in 0 s" in a.line
               for a in actions if isinstance(a, Log))


def test_broken_config_waits_for_its_file() -> None:
    v = running()
    actions = v.died(2, 0.3)
    assert v.state is State.BROKEN and kinds(actions) == []
    assert len([a for a in actions if isinstance(a, Log)]) == 1
    assert v.next_deadline() is None and v.tick(1000.0) == []
    assert kinds(v.file_changed(1001.0)) == [Spawn()]
    assert v.state is State.SPAWNING


def test_exit_2_after_the_file_worked_is_transient() -> None:
    """A respawn that cannot bind the port its dying predecessor holds is not a broken file."""
    v = running()
    v.message(E.ACCEPTING, 0.1)
    v.died(-9, 1.0)
    v.tick(v.respawn_at)
    v.spawned(101, v.respawn_at)
    v.died(2, 2.5)
    assert v.state is State.THROTTLED
    v.file_changed(3.0)  # an edit may break it for real: exit 2 now means broken
    v.spawned(102, 3.0)
    v.died(2, 3.2)
    assert v.state is State.BROKEN


def test_throttled_vassal_retries_at_once_when_its_file_changes() -> None:
    v = running(Policy(throttle=10.0))
    v.died(1, 1.0)
    assert v.state is State.THROTTLED
    assert kinds(v.file_changed(2.0)) == [Spawn()] and v.fast_deaths == 0


def test_idle_states_forget_at_once() -> None:
    v = running()
    v.died(2, 0.1)
    assert kinds(v.file_removed(0.2)) == [Forget()]
    v2 = running()
    v2.died(1, 0.1)
    assert kinds(v2.stop(0.2)) == [Forget()]


def test_on_demand_cycle() -> None:
    v = Vassal("/v/app.ini", "app.ini", Policy(on_demand=True))
    assert kinds(v.start(0.0)) == [Listen()] and v.state is State.ON_DEMAND
    assert v.file_changed(0.5) == []  # read at its next spawn
    assert kinds(v.connection(1.0)) == [Spawn()]
    assert v.connection(1.0) == []  # only from ON_DEMAND
    v.spawned(300, 1.0)
    v.message(E.ACCEPTING, 1.2)
    v.message(E.LOYAL, 1.3)
    v.message(E.GOODBYE, 5.0)
    assert kinds(v.died(0, 5.1)) == [Listen()] and v.state is State.ON_DEMAND
    assert kinds(v.connection(9.0)) == [Spawn()]
    v.spawned(301, 9.0)
    v.died(-9, 9.5)  # a crash: throttled, then back to waiting (not spawned unasked)
    assert v.state is State.THROTTLED
    assert kinds(v.tick(v.respawn_at)) == [Listen()]


def test_goodbye_without_on_demand_respawns() -> None:
    v = running()
    v.message(E.GOODBYE, 1.0)
    assert kinds(v.died(0, 1.1)) == [Spawn()]


def test_spawn_failure_is_broken() -> None:
    v = Vassal("/v/a.ini", "a.ini")
    v.start(0.0)
    actions = v.spawn_failed("invalid permissions", 0.0)
    assert v.state is State.BROKEN and "invalid permissions" in actions[0].line


def test_sighup_reload_keeps_proven() -> None:
    v = running()
    v.message(E.ACCEPTING, 0.1)
    assert kinds(v.reload(1.0)) == [Send(V.RELOAD)]
    assert v.proven
    stopped = running()
    stopped.died(2, 0.1)
    assert stopped.reload(1.0) == []


def test_table_has_no_dead_ends_and_bad_edges_raise() -> None:
    for state, targets in TRANSITIONS.items():
        if state is not State.GONE:
            assert targets, state
        assert all(isinstance(t, State) for t in targets)
    assert set(TRANSITIONS) == set(State)
    v = running()
    v.died(1, 0.1)
    with pytest.raises(RuntimeError):
        v._go(State.LOYAL, 0.2)  # THROTTLED -> LOYAL is not an edge


def test_stats_shape() -> None:
    v = running()
    v.message(E.ACCEPTING, 1.0)
    doc = v.stats(lambda t: int(1000 + t))
    for key in ("id", "pid", "born", "last_mod", "last_heartbeat", "loyal", "ready", "accepting",
                "last_loyal", "last_ready", "last_accepting", "first_run", "last_run", "cursed",
                "zerg", "on_demand", "uid", "gid", "monitor", "respawns", "state"):
        assert key in doc
    assert doc["id"] == "app.ini" and doc["pid"] == 100 and doc["accepting"] == 1
    assert doc["state"] == "ready" and doc["last_accepting"] == 1001
