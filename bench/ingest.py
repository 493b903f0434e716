"""Ingest benchmark: the whole pipeline against the bare embedder on the real corpus.

Run on demand (`make bench`); prints figures and asserts nothing. Targets: the pipeline keeps
at least 0.8 of the embedder's chunks/s, and a re-run with nothing changed takes under 1 s.
"""
from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.settings import Settings  # noqa: E402
from ingest.embed import build_embedder  # noqa: E402
from ingest.pipeline import embedding_text, run_ingest  # noqa: E402
from ingest.store import ChunkStore  # noqa: E402


def main(profile: bool = "--profile" in sys.argv) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        settings = Settings(_env_file=None, corpus_dir=REPO / "corpus", data_dir=Path(tmp),
                            embedder="minilm", chroma_host=None)
        embedder = build_embedder(settings)
        embedder.embed(["warm up the ONNX session"])  # both timings start from a warm model

        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        report = run_ingest(settings, embedder=embedder, progress=False)
        if profiler:
            profiler.disable()
        pipeline_rate = report.chunks_embedded / report.seconds

        texts = [embedding_text(c) for c in ChunkStore(settings).live_chunks()]
        started = time.perf_counter()
        embedder.embed(texts)
        bare_seconds = time.perf_counter() - started
        bare_rate = len(texts) / bare_seconds

        rerun = run_ingest(settings, embedder=embedder, progress=False)

    print(f"pipeline:        {report.chunks_embedded} chunks in {report.seconds:.2f} s"
          f" = {pipeline_rate:.1f} chunks/s")
    print(f"bare embedder:   {len(texts)} chunks in {bare_seconds:.2f} s = {bare_rate:.1f} chunks/s")
    print(f"ratio:           {pipeline_rate / bare_rate:.2f} (target >= 0.8)")
    print(f"unchanged rerun: {rerun.seconds:.3f} s, {rerun.chunks_embedded} chunks embedded"
          f" (target < 1 s)")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
