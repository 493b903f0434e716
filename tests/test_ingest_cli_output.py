"""What `python -m ingest` prints: one progress bar whose total is known from the start, a plain
summary, and no library debug lines unless --verbose."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PDF = "lbbd-hwb-2022-06-14-place-partnership-lead.pdf"
MANIFEST = ("file,title,organisation,date,doc_type,visibility,source_url\n"
            "lbbd-hwb-2022-06-14-place-partnership-lead,Place Partnership Lead,LBBD,2022-06-14,"
            "board_paper,public,\nnotes,Notes,LBBD,2022-07-01,guidance,public,\n")


def ingest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    corpus = tmp_path / "corpus"
    if not corpus.exists():
        corpus.mkdir()
        shutil.copy(REPO / "corpus" / PDF, corpus / PDF)
        (corpus / "documents.csv").write_text(MANIFEST)
        (corpus / "notes.md").write_text("# Notes\n\nThe place board meets monthly to review "
                                         "the partnership's plan and its budget.\n")
    env = {k: v for k, v in os.environ.items() if k not in ("CHROMA_HOST", "LLM_BASE_URL")}
    env["EMBEDDER"] = "hash"
    return subprocess.run(
        [sys.executable, "-m", "ingest", "--corpus", str(corpus), "--data", str(tmp_path / "data"),
         *args], cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO)}, capture_output=True,
        text=True, timeout=300)


def bar_states(stderr: str) -> list[tuple[int, int]]:
    """(done, total) of every redraw of the progress bar."""
    return [(int(a), int(b)) for a, b in re.findall(r"ingest:.*?\| (\d+)/(\d+) documents",
                                                    stderr.replace("\r", "\n"))]


def test_one_bar_with_a_known_total_and_a_clean_summary(tmp_path):
    result = ingest(tmp_path)
    assert result.returncode == 0, result.stderr
    states = bar_states(result.stderr)
    assert states and {total for _, total in states} == {2}  # never grows: 2 documents from the start
    assert [done for done, _ in states] == sorted(done for done, _ in states)
    assert states[-1] == (2, 2)
    assert "0chunk" not in result.stderr and "chunk/s" not in result.stderr
    assert re.fullmatch(r"added 2 / updated 0 / unchanged 0 / removed 0 / failed 0; \d+ chunks "
                        r"embedded, \d+ in the index; \d+\.\d s\n", result.stdout), result.stdout
    assert "DEBUG" not in result.stderr  # chromadb (and bm25s, on a replica) log at DEBUG

    again = ingest(tmp_path)  # nothing to do: no bar at all
    assert bar_states(again.stderr) == [] and again.stdout.startswith(
        "added 0 / updated 0 / unchanged 2 /")


def test_verbose_shows_library_debug_lines(tmp_path):
    result = ingest(tmp_path, "--verbose", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "DEBUG chromadb" in result.stderr  # libraries' debug lines, only when asked
    assert bar_states(result.stderr) == []  # --quiet: no bar
