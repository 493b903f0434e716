"""History bench: the slowest legitimate /v1/ask input (a short follow-up after 7 turns of 8,000
characters) against a plain question, with history trimmed as the settings say and untrimmed.

Run on demand (`python bench/history.py`); prints p50/p95 in ms and asserts nothing. Ingests the
real corpus into a temporary directory first (about a minute).
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.service import build_assistant  # noqa: E402
from core.models import Turn  # noqa: E402
from core.settings import Settings  # noqa: E402
from ingest.pipeline import run_ingest  # noqa: E402

QUESTION = "Who leads them?"
PLAIN = "What is a place-based partnership?"
ROUNDS = 15
FILLER = ("Place-based partnerships bring together the NHS, local government and the voluntary "
          "sector to plan and deliver services for the people of a place. ")


def long_history() -> list[Turn]:
    text = (FILLER * 100)[:8000]
    return [Turn(role="user" if i % 2 == 0 else "assistant", content=text) for i in range(7)]


def timings(assistant, question: str, history: list[Turn]) -> tuple[float, float]:
    assistant.ask(question, "public", history=history)  # warm up
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        assistant.ask(question, "public", history=history)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, corpus_dir=REPO / "corpus", data_dir=Path(tmp),
                            chroma_host=None, llm_base_url=None)
        run_ingest(settings, progress=False)
        trimmed = build_assistant(settings)
        untrimmed = build_assistant(settings.model_copy(update={
            "history_max_turns": 20, "history_max_chars": 8000}))
        plain = timings(trimmed, PLAIN, [])
        print(f"plain question:                  p50 {plain[0]:6.1f} ms  p95 {plain[1]:6.1f} ms")
        for name, assistant in (("untrimmed", untrimmed), ("trimmed", trimmed)):
            p50, p95 = timings(assistant, QUESTION, long_history())
            print(f"7 x 8,000-char history, {name:9}: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms"
                  f"  ({p50 / plain[0]:.1f}x plain)")
        print(f"limits: HISTORY_MAX_TURNS={settings.history_max_turns}, "
              f"HISTORY_MAX_CHARS={settings.history_max_chars}")


if __name__ == "__main__":
    main()
