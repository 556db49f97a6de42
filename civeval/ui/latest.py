"""The newest computation of slow figures, kept per key and refreshed when the data change (no Streamlit here, so
that it can be tested on its own; the dashboard holds one of these for the life of the server process).

A value is computed from the data as they stood at a *data version* (``civeval.audit.data_version``: it grows with
every audited write). Asked for a key:

- the value computed at the current version is returned as it is;
- otherwise, when the previous computation took at least ``slow`` seconds and is at most ``max_age`` seconds old,
  that previous value is returned, marked stale, and the key is computed again in a background thread (once it is
  ``refresh_every`` seconds old, so that a patrol saving answers every second does not keep a core busy): a leader
  opening the dashboard during a patrol sees the figures of a moment ago at once, with their time, instead of
  waiting for them after every save;
- otherwise the value is computed now, and the caller waits (a value computing for the same key already is waited
  for, not computed twice).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Computed:
    value: Any
    version: int  # the data version it was computed at
    at: float  # time.time() when its computation started
    seconds: float  # how long the computation took
    derived: dict = field(default_factory=dict)  # things made from the value for showing it, made once

    def derive(self, name: Hashable, make: Callable[[], Any]) -> Any:
        """``make()`` once for this value (a chart, a table), then the same object again."""
        try:
            return self.derived[name]
        except KeyError:
            out = self.derived[name] = make()
            return out


@dataclass(frozen=True)
class Answer:
    computed: Computed
    stale: bool  # computed at an older version; a newer computation is on its way


class Latest:
    """Per key, the newest ``Computed``; at most ``max_entries`` keys (the least recently asked go first)."""

    def __init__(
        self, *, slow: float = 1.0, max_age: float = 120.0, refresh_every: float = 30.0, max_entries: int = 24
    ) -> None:
        self.slow = slow
        self.max_age = max_age
        self.refresh_every = refresh_every
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[Hashable, Computed] = {}
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self._background: set[Hashable] = set()

    def get(
        self, key: Hashable, version: int, compute: Callable[[], Any], *, now: float | None = None, wait: bool = True
    ) -> Answer | None:
        """The value for ``key`` at data version ``version`` (see the module's docstring); ``compute()`` makes it
        from the data as they are when it runs. With ``wait`` False, None where it would compute in the
        foreground."""
        now = time.time() if now is None else now
        with self._lock:
            e = self._touch(key)
        if e is not None and e.version >= version:
            return Answer(e, stale=False)
        if e is not None and e.seconds >= self.slow and now - e.at <= self.max_age:
            if now - e.at >= self.refresh_every:
                self._refresh_in_background(key, version, compute)
            return Answer(e, stale=True)
        if not wait:
            return None
        return Answer(self._compute(key, version, compute), stale=False)

    def peek(self, key: Hashable) -> Computed | None:
        """The newest value for ``key``, if any (nothing is computed)."""
        with self._lock:
            return self._entries.get(key)

    def refreshing(self, key: Hashable) -> bool:
        """Whether ``key`` is being computed in the background."""
        with self._lock:
            return key in self._background

    def prepare(self, key: Hashable, version: int, compute: Callable[[], Any], *, now: float | None = None) -> bool:
        """Start computing ``key`` in the background unless it is known at ``version``, was computed less than
        ``refresh_every`` seconds ago, or is computing (e.g. at sign-in, so that the dashboard is ready when
        opened). True when a computation was started."""
        now = time.time() if now is None else now
        with self._lock:
            e = self._entries.get(key)
        if e is not None and (e.version >= version or now - e.at < self.refresh_every):
            return False
        return self._refresh_in_background(key, version, compute)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    # --- inside ----------------------------------------------------------------------------------------------------

    def _touch(self, key: Hashable) -> Computed | None:
        e = self._entries.pop(key, None)
        if e is not None:
            self._entries[key] = e  # most recently asked last
        return e

    def _key_lock(self, key: Hashable) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def _compute(self, key: Hashable, version: int, compute: Callable[[], Any]) -> Computed:
        with self._key_lock(key):  # one computation per key at a time; a second caller waits for the first
            with self._lock:
                e = self._entries.get(key)
            if e is not None and e.version >= version:
                return e
            started = time.time()
            clock = time.perf_counter()
            value = compute()
            e = Computed(value, version, started, time.perf_counter() - clock)
            with self._lock:
                old = self._entries.pop(key, None)
                if old is not None and old.version > e.version:
                    e = old  # a newer one landed meanwhile
                self._entries[key] = e
                while len(self._entries) > self.max_entries:
                    gone = next(iter(self._entries))
                    del self._entries[gone]
                    self._key_locks.pop(gone, None)  # asked again, it gets a new one
            return e

    def _refresh_in_background(self, key: Hashable, version: int, compute: Callable[[], Any]) -> bool:
        with self._lock:
            if key in self._background:
                return False
            self._background.add(key)

        def run() -> None:
            try:
                self._compute(key, version, compute)
            except Exception:  # the next request computes it in the foreground and shows the error
                log.exception("background computation of %r failed", key)
            finally:
                with self._lock:
                    self._background.discard(key)

        threading.Thread(target=run, name=f"latest-{key!r}"[:60], daemon=True).start()
        return True
