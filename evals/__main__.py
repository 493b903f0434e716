"""`python -m evals`: run the eval suite, compare two runs, validate a question file, export feedback."""
from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.dataset import (DEV16_SET, DEV_SET, FRESH14_SET, FRESH15_SET, FRESH16_SET,
                           FRESH17_SET, FRESH18_SET, FRESH19_SET, HOLDOUT2_SET, HOLDOUT3_SET,
                           HOLDOUT4_SET,
                           HOLDOUT_SET,
                           DatasetError, load_questions, read_manifest, validate_questions)

if TYPE_CHECKING:
    from core.settings import Settings
    from evals.run import Backend

OUT_ROOT = Path("evals/out")


def _backend(args: argparse.Namespace, settings: Settings) -> tuple[Backend, list[str]] | None:
    """The backend to evaluate and the clearances to run, or None (message printed) if unusable."""
    from evals.run import ApiBackend, InProcessBackend

    if args.api:
        clearances = args.clearance or ["public"]
        if len(clearances) > 1:
            print("--api runs one clearance: the key's. Pass the one your key has.", file=sys.stderr)
            return None
        return ApiBackend(args.api, args.key), clearances
    from assistant.service import build_assistant

    return InProcessBackend(build_assistant(settings)), args.clearance or ["public", "confidential"]


def _evaluate(args: argparse.Namespace, settings: Settings, backend: Backend,
              clearances: list[str], questions_file: Path,
              out: Path) -> tuple[dict[str, Any], list[Any]]:
    """Run one question file and write its report to `out`: the results and the gate checks."""
    from evals.report import document_titles, run_settings, write_report
    from evals.run import gate_checks, leak_markers, load_thresholds, run_suite

    questions = load_questions(questions_file)
    visibility = read_manifest(settings.corpus_dir, settings.manifest_name)
    judge = None
    if settings.llm_base_url and not args.no_judge:
        from evals.judge import build_judge  # imports llama-index: only when judging

        judge = build_judge(settings, limit=args.judge_limit)
    results = run_suite(
        questions, backend, clearances, visibility=visibility,
        markers=leak_markers(questions, settings.corpus_dir, visibility),
        baselines=getattr(args, "baselines", False), judge=judge, progress=not args.quiet,
        questions_file=str(questions_file))
    results["meta"].update(settings=run_settings(settings),  # named in the report
                           titles=document_titles(settings.manifest_path),
                           gated=questions_file.resolve() == DEV_SET.resolve())
    gate = gate_checks(results, load_thresholds(args.thresholds))
    page = write_report(results, out, gate)
    print(f"report: {page}\nsummary: {out / 'summary.md'}")
    return results, gate


def _run(args: argparse.Namespace) -> int:
    from core.settings import get_settings

    settings = get_settings()
    load_questions(args.questions)  # a bad file fails before the index is opened
    chosen = _backend(args, settings)
    if chosen is None:
        return 2
    out = args.out or OUT_ROOT / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    _, gate = _evaluate(args, settings, *chosen, args.questions, out)
    for check in gate:
        print(check.message)
    return 1 if args.gate and not all(c.passed for c in gate) else 0


def _sets(args: argparse.Namespace) -> int:
    from core.settings import get_settings
    from evals.run import side_by_side

    files = args.questions or [DEV_SET, HOLDOUT_SET, HOLDOUT2_SET, HOLDOUT3_SET, HOLDOUT4_SET,
                               FRESH14_SET, FRESH15_SET, FRESH16_SET, FRESH17_SET, FRESH18_SET, FRESH19_SET,
                               DEV16_SET]
    names = [f.stem for f in files]
    if len(set(names)) != len(names):
        print("question files need distinct names (they label the columns)", file=sys.stderr)
        return 2
    for path in files:
        load_questions(path)  # every file is checked before anything runs
    settings = get_settings()
    chosen = _backend(args, settings)
    if chosen is None:
        return 2
    out = args.out or OUT_ROOT / (datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-sets")
    named = {name: _evaluate(args, settings, *chosen, path, out / name)[0]
             for name, path in zip(names, files)}
    table = side_by_side(named)
    (out / "sets.md").write_text(table, encoding="utf-8")
    print(table, end="")
    print(f"side by side: {out / 'sets.md'}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from evals.compare import compare, compare_html, load_results

    a, b = load_results(args.a), load_results(args.b)
    print(compare(a, b), end="")
    if args.html:
        out = args.out or (args.b if args.b.is_dir() else args.b.parent) / "compare.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(compare_html(a, b, (str(args.a), str(args.b))), encoding="utf-8")
        print(f"side-by-side report: {out}")
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

    sets = sub.add_parser(
        "sets", help="run several question sets and print their figures side by side",
        description="Run each question file (default: dev, holdout to holdout4, fresh14 to fresh19, dev16) under each "
                    "clearance, write each one's report under --out/<file name>/, and print "
                    "their figures side by side with each set's gap to the first.")
    sets.add_argument("--questions", type=Path, action="append",
                      help="a JSON Lines question file; repeat for each set (the first is the "
                           "one the gaps are measured from)")
    sets.add_argument("--api", metavar="URL", help="evaluate a live API instead of in-process")
    sets.add_argument("--key", help="API key for --api (its clearance is the run's clearance)")
    sets.add_argument("--clearance", nargs="+", choices=["public", "confidential"],
                      help="clearance(s) to run (default: both in-process, public with --api)")
    sets.add_argument("--out", type=Path,
                      help="output folder (default: evals/out/<UTC time>-sets)")
    sets.add_argument("--no-judge", action="store_true",
                      help="skip LLM-judged scores even when LLM_BASE_URL is set")
    sets.add_argument("--judge-limit", type=int, default=40, help="most answers to judge")
    sets.add_argument("--thresholds", type=Path,
                      default=Path(__file__).parent / "thresholds.toml",
                      help="gate thresholds (listed in each report, not enforced here)")
    sets.add_argument("--quiet", action="store_true", help="no progress bar")
    sets.set_defaults(func=_sets)

    cmp = sub.add_parser("compare", help="deltas between two runs",
                         description="Print B - A for every figure of two runs.")
    cmp.add_argument("a", type=Path, help="run folder or results.json (before)")
    cmp.add_argument("b", type=Path, help="run folder or results.json (after)")
    cmp.add_argument("--html", action="store_true",
                     help="also write a side-by-side HTML report (default: B's folder/compare.html)")
    cmp.add_argument("--out", type=Path, help="where --html writes the report")
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
