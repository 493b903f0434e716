"""`python -m ingest`: bring the index in line with corpus/ and print a summary."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from core.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Ingest corpus/ into Chroma and the keyword index. Only changed documents "
                    "are re-embedded; exits 1 if any file could not be ingested.",
    )
    parser.add_argument("--rebuild", action="store_true", help="drop the index and start clean")
    parser.add_argument("--corpus", type=Path, help="corpus folder (default: settings CORPUS_DIR)")
    parser.add_argument("--data", type=Path, help="data folder (default: settings DATA_DIR)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "chromadb", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from ingest.pipeline import run_ingest

    settings = get_settings()
    updates = {k: v for k, v in {"corpus_dir": args.corpus, "data_dir": args.data}.items() if v}
    if updates:
        settings = settings.model_copy(update=updates)
    from core.errors import AssistantError

    try:
        report = run_ingest(settings, rebuild=args.rebuild, progress=not args.quiet)
    except AssistantError as exc:  # another run holds the lock; the store cannot be reached
        print(f"ingest: {exc}", file=sys.stderr)
        return 2
    for problem in report.failed:
        print(f"FAILED {problem}", file=sys.stderr)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
