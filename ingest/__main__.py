"""`python -m ingest`: bring the index in line with corpus/ and print a summary."""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm.contrib.logging import logging_redirect_tqdm

from core.settings import get_settings


@contextmanager
def readable_logs(verbose: bool) -> Iterator[None]:
    """Our INFO lines, printed above the progress bar; libraries' only from WARNING. The level
    is set on the handlers too, because bm25s sets its own logger to DEBUG on import."""
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not verbose:
        for noisy in ("httpx", "chromadb", "bm25s", "onnxruntime"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    with logging_redirect_tqdm():  # swaps the root handlers for ones that write above the bar
        for handler in logging.getLogger().handlers:
            handler.setLevel(level)
        yield


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
    parser.add_argument("--verbose", action="store_true",
                        help="debug logging, libraries' (chromadb, bm25s, httpx) included")
    args = parser.parse_args(argv)

    from ingest.pipeline import run_ingest

    settings = get_settings()
    updates = {k: v for k, v in {"corpus_dir": args.corpus, "data_dir": args.data}.items() if v}
    if updates:
        settings = settings.model_copy(update=updates)
    from core.errors import AssistantError

    try:
        with readable_logs(args.verbose):
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
