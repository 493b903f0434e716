"""`python -m assistant ask` with input it cannot use: one clear line on stderr, no traceback."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO


def ask(question: bytes | str, data_dir, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATA_DIR": str(data_dir), "CORPUS_DIR": str(REPO / "corpus"),
           "EMBEDDER": "hash"}
    return subprocess.run([sys.executable, "-m", "assistant", "ask", question], cwd=REPO,
                          env=env, capture_output=True, timeout=300)


@pytest.mark.parametrize("question,said", [
    (b"\xff", b"invalid character"),          # not UTF-8: a lone surrogate once decoded
    ("\u200b\u200d".encode(), b"question is empty"),
])
def test_unusable_question_is_one_line_not_a_traceback(tmp_path, question, said):
    result = ask(question, tmp_path / "data", tmp_path)
    assert result.returncode == 2
    assert said in result.stderr and b"Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_missing_index_is_one_line_not_a_traceback(tmp_path):
    result = ask(b"What is a place-based partnership?", tmp_path / "empty", tmp_path)
    assert result.returncode in (1, 2) and b"Traceback" not in result.stderr
    assert result.stderr.startswith(b"error: ")
