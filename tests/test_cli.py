"""The command-line entry points: help for each, documented in the README, JSON shape."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
COMMANDS = [["ingest"], ["assistant"], ["assistant", "ask"]]


def run(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_and_is_in_the_readme(command):
    result = run([*command, "--help"])
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
    assert f"python -m {' '.join(command)}" in README


def test_ask_json_has_the_shared_response_shape(indexed_settings):
    env = {"DATA_DIR": str(indexed_settings.data_dir), "CORPUS_DIR": str(indexed_settings.corpus_dir)}
    result = run(["assistant", "ask", "What are the four aims of integrated care systems?",
                  "--json"], env)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert {"answer", "citations", "refused", "mode"} <= set(body)
    assert body["mode"] == "extractive" and body["refused"] is False
    assert set(body["citations"][0]) == {"n", "doc_id", "title", "page", "section", "quote"}


def test_ask_public_never_prints_the_confidential_paper(indexed_settings):
    env = {"DATA_DIR": str(indexed_settings.data_dir), "CORPUS_DIR": str(indexed_settings.corpus_dir)}
    question = "How much is the allocation from the ICS to Partnership Southwark in 2022/23?"
    public = run(["assistant", "ask", question], env)
    cleared = run(["assistant", "ask", question, "--clearance", "confidential"], env)
    assert "£145 million" not in public.stdout and "Strategic Options" not in public.stdout
    assert "£145 million" in cleared.stdout


def test_empty_question_is_a_clear_error_not_a_traceback(indexed_settings):
    env = {"DATA_DIR": str(indexed_settings.data_dir), "CORPUS_DIR": str(indexed_settings.corpus_dir)}
    result = run(["assistant", "ask", "   "], env)
    assert result.returncode == 2
    assert "question is empty" in result.stderr and "Traceback" not in result.stderr
