"""Shared fixtures: a real index of the real corpus, built once per test session."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.settings import Settings

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"


@pytest.fixture(scope="session")
def indexed_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose data dir holds the real corpus, ingested with the real embedder."""
    from ingest.pipeline import run_ingest

    data = tmp_path_factory.mktemp("indexed-data")
    settings = Settings(_env_file=None, corpus_dir=CORPUS, data_dir=data, embedder="minilm",
                        chroma_host=None, llm_base_url=None)
    report = run_ingest(settings, progress=False)
    assert report.ok, report.failed
    return settings


@pytest.fixture(scope="session")
def assistant(indexed_settings: Settings):
    """The real assistant over the real index (extractive answerer)."""
    from assistant.service import build_assistant

    return build_assistant(indexed_settings)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the corpus, for tests that add, edit or break files."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
def hash_settings(corpus_copy: Path, tmp_path: Path) -> Settings:
    """Settings over a corpus copy with the fast deterministic embedder."""
    return Settings(_env_file=None, corpus_dir=corpus_copy, data_dir=tmp_path / "data",
                    embedder="hash", chroma_host=None, llm_base_url=None)
