"""`python -m evals sets`: several question files through the real assistant, side by side."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from evals.dataset import DEV_SET, HOLDOUT2_SET

REPO = Path(__file__).resolve().parent.parent


def _pick(source: Path, ids: set[str], target: Path) -> Path:
    lines = [line for line in source.read_text().splitlines()
             if line.strip() and json.loads(line)["id"] in ids]
    assert len(lines) == len(ids)
    target.write_text("\n".join(lines) + "\n")
    return target


def test_sets_runs_each_file_and_prints_figures_side_by_side_with_the_gap(indexed_settings,
                                                                           tmp_path):
    tuned = _pick(DEV_SET, {"tp-16", "cmp-02", "none-13", "fp-01"}, tmp_path / "tuned.jsonl")
    unseen = _pick(HOLDOUT2_SET, {"h2-11", "h2-29", "h2-52"}, tmp_path / "unseen.jsonl")
    out = tmp_path / "out"
    env = {**os.environ, "DATA_DIR": str(indexed_settings.data_dir),
           "CORPUS_DIR": str(indexed_settings.corpus_dir), "EMBEDDER": "minilm"}
    env.pop("LLM_BASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "evals", "sets", "--questions", str(tuned), "--questions",
         str(unseen), "--clearance", "public", "--out", str(out), "--quiet", "--no-judge"],
        cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr
    assert "| figure | tuned | unseen | unseen - tuned |" in result.stdout
    assert (out / "sets.md").read_text() in result.stdout
    for name, count in (("tuned", 4), ("unseen", 3)):
        results = json.loads((out / name / "results.json").read_text())
        overall = results["runs"]["public"]["overall"]
        assert results["meta"]["questions"] == count
        assert {"answer_words_median", "doc_coverage", "refusal_rate_unanswerable"} <= set(overall)
        assert results["runs"]["public"]["by_kind"]["comparison"]["n"] == 1
    line = next(row for row in result.stdout.splitlines() if row.startswith("| n |"))
    assert line == "| n | 4 | 3 |  |"
