"""`python -m evals`: run the eval suite, compare two runs, validate a question file, export feedback."""
from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path

from evals.dataset import DEV_SET, DatasetError, load_questions, read_manifest, validate_questions

OUT_ROOT = Path("evals/out")


def _run(args: argparse.Namespace) -> int:
    from core.settings import get_settings
    from evals.judge import build_judge
    from evals.report import write_report
    from evals.run import (ApiBackend, InProcessBackend, gate_checks, leak_markers,
                           load_thresholds, run_suite)

    settings = get_settings()
    questions = load_questions(args.questions)
    visibility = read_manifest(settings.corpus_dir, settings.manifest_name)
    if args.api:
        backend = ApiBackend(args.api, args.key)
        clearances = args.clearance or ["public"]
        if len(clearances) > 1:
            print("--api runs one clearance: the key's. Pass the one your key has.", file=sys.stderr)
            return 2
    else:
        from assistant.service import build_assistant

        backend = InProcessBackend(build_assistant(settings))
        clearances = args.clearance or ["public", "confidential"]
    judge = None if args.no_judge else build_judge(settings, limit=args.judge_limit)
    results = run_suite(
        questions, backend, clearances, visibility=visibility,
        markers=leak_markers(questions, settings.corpus_dir, visibility),
        baselines=args.baselines, judge=judge, progress=not args.quiet,
        questions_file=str(args.questions))
    gate = gate_checks(results, load_thresholds(args.thresholds))
    out = args.out or OUT_ROOT / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    page = write_report(results, out, gate)
    print(f"report: {page}\nsummary: {out / 'summary.md'}")
    for check in gate:
        print(check.message)
    return 1 if args.gate and not all(c.passed for c in gate) else 0


def _compare(args: argparse.Namespace) -> int:
    from evals.compare import compare, load_results

    print(compare(load_results(args.a), load_results(args.b)), end="")
    return 0


def _validate(args: argparse.Namespace) -> int:
    problems = validate_questions(load_questions(args.questions), args.corpus)
    for problem in problems:
        print(problem)
    print(f"{args.questions}: {'OK' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


def _feedback_export(args: argparse.Namespace) -> int:
    from bots.feedback import export_feedback  # the bot's store, only needed here
    from core.settings import get_settings

    settings = get_settings()
    db = args.db or settings.state_url or settings.bot_db_path  # the state database (issue 12)
    if "://" not in str(db) and not db.exists():
        print(f"{db}: no feedback database", file=sys.stderr)
        return 1
    count = export_feedback(db, args.out)
    print(f"{count} draft case(s) written to {args.out} (drafts: fill in doc, pages, key_facts)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m evals",
                                     description="Evaluate the guidance assistant.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the question set and write a report",
                         description="Run every question under each clearance; write "
                                     "results.json, summary.md and report.html.")
    run.add_argument("--questions", type=Path, default=DEV_SET,
                     help="JSON Lines question file (default: the dev set)")
    run.add_argument("--api", metavar="URL", help="evaluate a live API instead of in-process")
    run.add_argument("--key", help="API key for --api (its clearance is the run's clearance)")
    run.add_argument("--clearance", nargs="+", choices=["public", "confidential"],
                     help="clearance(s) to run (default: both in-process, public with --api)")
    run.add_argument("--baselines", action="store_true",
                     help="also score keyword-only, dense-only and hybrid-without-rescoring retrieval")
    run.add_argument("--out", type=Path, help="output folder (default: evals/out/<UTC time>)")
    run.add_argument("--no-judge", action="store_true",
                     help="skip LLM-judged scores even when LLM_BASE_URL is set")
    run.add_argument("--judge-limit", type=int, default=40, help="most answers to judge")
    run.add_argument("--thresholds", type=Path,
                     default=Path(__file__).parent / "thresholds.toml", help="gate thresholds")
    run.add_argument("--gate", action="store_true", help="exit 1 if a threshold is missed")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=_run)

    cmp = sub.add_parser("compare", help="deltas between two runs",
                         description="Print B - A for every figure of two runs.")
    cmp.add_argument("a", type=Path, help="run folder or results.json (before)")
    cmp.add_argument("b", type=Path, help="run folder or results.json (after)")
    cmp.set_defaults(func=_compare)

    val = sub.add_parser("validate", help="check a question file against the corpus PDFs",
                         description="Check every quote, key fact and page against the corpus.")
    val.add_argument("--questions", type=Path, default=DEV_SET, help="JSON Lines question file")
    val.add_argument("--corpus", type=Path, default=Path("corpus"), help="corpus folder")
    val.set_defaults(func=_validate)

    fb = sub.add_parser("feedback-export", help="Slack 'Not helpful' votes -> draft eval cases",
                        description="Write one draft eval case (JSONL) per answer voted "
                                    "'Not helpful' in Slack. Treat the file as confidential.")
    fb.add_argument("--db", type=Path, help="bot database (default: settings bot_db_path)")
    fb.add_argument("--out", type=Path, default=Path("evals/out/feedback-drafts.jsonl"),
                    help="JSONL file to write")
    fb.set_defaults(func=_feedback_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "chromadb", "bm25s", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.func(args)
    except (DatasetError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
