"""Per-caller token buckets: `per_minute` requests a minute, refilled smoothly, in memory."""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class RateLimiter:
    """A token bucket per caller id; `charge` returns 0 if allowed, else seconds to wait."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # id -> (tokens, last refill time)
        self._lock = threading.Lock()

    def charge(self, caller_id: str) -> int:
        """Take one token for this caller; the Retry-After seconds if there is none."""
        if self.per_minute <= 0:  # 0 or less turns the limit off
            return 0
        rate = self.per_minute / 60.0  # tokens per second
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(caller_id, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[caller_id] = (tokens - 1.0, now)
                return 0
            self._buckets[caller_id] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / rate))
