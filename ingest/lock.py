"""One ingest at a time, for embedded and server Chroma alike: a lease record in the store's
meta collection, renewed while the run lives, taken over when its holder is gone."""
from __future__ import annotations

import os
import socket
import threading
import time
import uuid

from core.errors import IngestError
from ingest.store import LOCK, UNIT, ChunkStore


class WriterLock:
    """One ingest at a time, for embedded and server Chroma alike: a record in the meta
    collection naming its owner (host:pid:token) and an expiry, renewed by a heartbeat.
    A holder that died is taken over at once on the same host (its pid is gone), else when
    its lease expires."""

    def __init__(self, store: ChunkStore, lease_seconds: float = 60.0) -> None:
        self.store = store
        self.lease = lease_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def holder(self) -> dict | None:
        got = self.store._meta().get(ids=[LOCK], include=["metadatas"])
        return got["metadatas"][0] if got["ids"] else None

    def _free(self, held: dict | None) -> bool:
        if held is None or held.get("owner") == self.owner or held["expires"] < time.time():
            return True
        host, pid, _ = str(held["owner"]).split(":", 2)
        return host == socket.gethostname() and int(pid) != os.getpid() and not _alive(int(pid))

    def _write(self) -> None:
        self.store._meta().upsert(ids=[LOCK], embeddings=[UNIT], metadatas=[
            {"owner": self.owner, "expires": time.time() + self.lease}])

    def __enter__(self) -> "WriterLock":
        held = self.holder()
        if self._free(held):
            self._write()
            time.sleep(0.2)  # two runs that both saw it free: the later write wins, the other sees it
            held = self.holder()
        if held is None or held.get("owner") != self.owner:
            left = max(0, int(held["expires"] - time.time())) if held else 0
            raise IngestError(f"another ingest is running ({held and held['owner']}); "
                              f"try again when it ends (its lease expires in {left} s)")
        self._beat = threading.Thread(target=self._heartbeat, daemon=True, name="ingest-lock")
        self._beat.start()
        return self

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.lease / 3):
            self._write()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        if (self.holder() or {}).get("owner") == self.owner:
            self.store._meta().delete(ids=[LOCK])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
