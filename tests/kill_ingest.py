"""`python tests/kill_ingest.py METHOD N [ingest args]`: run `python -m ingest` in this process
and SIGKILL it the moment the Nth call of ChunkStore.METHOD returns (a real kill -9 at a known
point of a publish, for the crash tests). Settings come from the environment as usual."""
from __future__ import annotations

import functools
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import store  # noqa: E402
from ingest.__main__ import main  # noqa: E402


def die_after(method: str, nth: int) -> None:
    original = getattr(store.ChunkStore, method)
    calls = 0

    @functools.wraps(original)
    def wrapper(self, *args, **kwargs):  # noqa: ANN001, ANN202
        nonlocal calls
        result = original(self, *args, **kwargs)
        calls += 1
        if calls == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(store.ChunkStore, method, wrapper)


if __name__ == "__main__":
    die_after(sys.argv[1], int(sys.argv[2]))
    sys.exit(main(["--quiet", *sys.argv[3:]]))
