"""civeval.ui.latest: the newest computation of slow figures, shown while newer ones are computed."""

from __future__ import annotations

import threading
import time

from civeval.ui.latest import Latest


class Counter:
    """A computation that returns how many times it ran, taking ``seconds`` (or until ``gate`` is set)."""

    def __init__(self, seconds: float = 0.0, gate: threading.Event | None = None) -> None:
        self.runs = 0
        self.seconds = seconds
        self.gate = gate

    def __call__(self) -> int:
        self.runs += 1
        if self.gate is not None:
            assert self.gate.wait(10)
        elif self.seconds:
            time.sleep(self.seconds)
        return self.runs


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_same_data_version_is_computed_once():
    store, compute = Latest(), Counter()
    first = store.get("k", 1, compute)
    again = store.get("k", 1, compute)
    assert first.computed.value == again.computed.value == 1 and compute.runs == 1
    assert not first.stale and again.computed is first.computed


def test_a_fast_computation_is_done_again_when_the_data_change():
    store, compute = Latest(slow=1.0), Counter()
    store.get("k", 1, compute)
    got = store.get("k", 2, compute)  # the first took well under a second: no reason to show old figures
    assert got.computed.value == 2 and not got.stale and got.computed.version == 2


def test_a_slow_computation_shows_the_previous_figures_while_computing_again():
    store = Latest(slow=0.05, max_age=60, refresh_every=0)
    store.get("k", 1, Counter(seconds=0.06))
    gate = threading.Event()
    slow = Counter(gate=gate)
    got = store.get("k", 2, slow)
    assert got.stale and got.computed.version == 1  # at once, the figures of a moment ago
    assert store.refreshing("k")
    assert store.get("k", 2, slow).stale and slow.runs == 1  # asked again meanwhile: no second computation
    gate.set()
    wait_until(lambda: not store.refreshing("k"))
    now = store.get("k", 2, slow)
    assert not now.stale and now.computed.version == 2 and now.computed.value == 1


def test_previous_figures_too_old_are_not_shown():
    store = Latest(slow=0.0, max_age=60)
    store.get("k", 1, Counter(), now=time.time())
    later = time.time() + 61
    got = store.get("k", 2, Counter(), now=later)
    assert not got.stale and got.computed.version == 2


def test_a_refresh_waits_until_the_figures_are_old_enough():
    store = Latest(slow=0.0, max_age=120, refresh_every=30)
    started = time.time()
    store.get("k", 1, Counter())
    compute = Counter()
    assert store.get("k", 2, compute, now=started + 10).stale
    time.sleep(0.05)
    assert compute.runs == 0 and not store.refreshing("k")  # only 10 s old: shown as they are
    assert store.get("k", 2, compute, now=started + 31).stale
    wait_until(lambda: compute.runs == 1 and not store.refreshing("k"))
    assert store.get("k", 2, compute).computed.version == 2


def test_without_waiting_nothing_is_computed_in_the_foreground():
    store, compute = Latest(), Counter()
    assert store.get("k", 1, compute, wait=False) is None and compute.runs == 0


def test_two_callers_of_a_key_share_one_computation():
    store = Latest()
    gate = threading.Event()
    compute = Counter(gate=gate)
    results = []
    threads = [threading.Thread(target=lambda: results.append(store.get("k", 1, compute))) for _ in range(2)]
    for th in threads:
        th.start()
    time.sleep(0.1)
    gate.set()
    for th in threads:
        th.join(10)
    assert compute.runs == 1 and results[0].computed is results[1].computed


def test_prepare_computes_in_the_background_once():
    store, compute = Latest(), Counter()
    assert store.prepare("k", 1, compute)
    wait_until(lambda: not store.refreshing("k"))
    assert not store.prepare("k", 1, compute)  # known at this version
    assert store.get("k", 1, compute).computed.value == 1 and compute.runs == 1


def test_a_failed_background_computation_leaves_the_previous_figures():
    store = Latest(slow=0.0, max_age=60, refresh_every=0)
    store.get("k", 1, Counter())

    def broken():
        raise RuntimeError("database gone")

    assert store.get("k", 2, broken).stale
    wait_until(lambda: not store.refreshing("k"))
    assert store.peek("k").version == 1


def test_the_least_recently_asked_keys_go_first():
    store = Latest(max_entries=2)
    for k in ("a", "b"):
        store.get(k, 1, Counter())
    store.get("a", 1, Counter())  # a asked again: b is now the oldest
    store.get("c", 1, Counter())
    assert store.peek("b") is None and store.peek("a") and store.peek("c")


def test_derived_things_are_made_once_per_computation():
    store = Latest()
    got = store.get("k", 1, Counter())
    made = []
    for _ in range(3):
        got.computed.derive("chart", lambda: made.append(1) or len(made))
    assert made == [1]


def test_prepare_leaves_figures_computed_a_moment_ago():
    store = Latest(refresh_every=30)
    started = time.time()
    store.get("k", 1, Counter())
    compute = Counter()
    assert not store.prepare("k", 2, compute, now=started + 10)  # changed data, but computed 10 s ago
    assert store.prepare("k", 2, compute, now=started + 31)
    wait_until(lambda: not store.refreshing("k"))
    assert compute.runs == 1 and store.peek("k").version == 2
