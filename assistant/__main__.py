"""`python -m assistant ask "question"`: the answer and its sources, as text or JSON."""
from __future__ import annotations

import argparse
import json
import logging
import sys

from core.errors import AssistantError
from core.models import Answer
from core.settings import get_settings


def render_text(answer: Answer) -> str:
    """The answer, then its numbered sources (or the closest documents on a refusal)."""
    lines = [answer.answer]
    if answer.notice:
        lines += ["", f"Note: {answer.notice}"]
    if answer.citations:
        lines += ["", "Sources:"]
        lines += [f"[{c.n}] {c.title}, page {c.page}"
                  + (f", section \"{c.section}\"" if c.section else "")
                  + "\n    \"" + c.quote.replace("\n", "\n     ") + "\"" for c in answer.citations]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant",
                                     description="Ask the guidance assistant from the shell.")
    commands = parser.add_subparsers(dest="command", required=True)
    ask = commands.add_parser("ask", help="answer one question with cited sources")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the API's JSON response shape")
    ask.add_argument("--clearance", choices=["public", "confidential"], default="public",
                     help="which documents may be used (default: public)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # bm25s sets its own logger to DEBUG
        handler.setLevel(logging.WARNING)

    from assistant.service import build_assistant

    try:
        answer = build_assistant(get_settings()).ask(args.question, args.clearance)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # one clear line, not a traceback; the cause is in the log line
        logging.getLogger("assistant").debug("ask failed", exc_info=True)
        print(f"error: could not answer ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    print(answer.model_dump_json(indent=2) if args.json else render_text(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
