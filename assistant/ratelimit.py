"""Token buckets per key (`per_minute` a minute, refilled smoothly): in this process's memory,
or in the shared state database so every replica charges the same bucket. Idle buckets expire."""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from core.state import StateDB

EXPIRE_EVERY = 500  # charges between sweeps of idle buckets


class RateLimiter:
    """A token bucket per key; `charge` returns 0 if allowed, else seconds to wait."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic,
                 state: StateDB | None = None, prefix: str = "") -> None:
        self.per_minute = per_minute
        self.clock = time.time if state is not None else clock  # replicas share wall time
        self.state = state
        self.prefix = prefix  # one table holds several limits: "key:", "authfail:"
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)
        self._lock = threading.Lock()
        self._charges = 0

    @property
    def idle_seconds(self) -> float:
        """After this long untouched a bucket is full again, the same as no bucket."""
        return 60.0

    def charge(self, key: str) -> int:
        """Take one token for this key; the Retry-After seconds if there is none."""
        if self.per_minute <= 0:  # 0 or less turns the limit off
            return 0
        self._sweep()
        if self.state is not None:
            return self.state.charge(self.prefix + key, self.per_minute, now=self.clock())
        rate = self.per_minute / 60.0  # tokens per second
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / rate))

    def blocked(self, key: str) -> int:
        """Seconds until this key has a token (0 if it has one), without taking it."""
        if self.per_minute <= 0:
            return 0
        if self.state is not None:
            return self.state.blocked(self.prefix + key, self.per_minute, now=self.clock())
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.per_minute), self.clock()))
        rate = self.per_minute / 60.0
        tokens = min(float(self.per_minute), tokens + (self.clock() - last) * rate)
        return 0 if tokens >= 1.0 else max(1, math.ceil((1.0 - tokens) / rate))

    def _sweep(self) -> None:
        self._charges += 1
        if self._charges % EXPIRE_EVERY == 0:
            self.expire()

    def expire(self) -> None:
        """Forget buckets idle long enough to be full again (memory, or the shared table)."""
        if self.state is not None:
            self.state.expire_buckets(self.idle_seconds, now=self.clock())
            return
        cutoff = self.clock() - self.idle_seconds
        with self._lock:
            for key in [k for k, (_, last) in self._buckets.items() if last < cutoff]:
                del self._buckets[key]
