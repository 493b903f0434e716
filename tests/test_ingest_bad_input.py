"""Bad input: each problem is one line naming the file and reason; the rest ingests; old chunks stay."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.pipeline import run_ingest
from tests.conftest import REPO
from tests.ingest_helpers import (keyword_index, ALL_DOCS, BOB, LBBD, NHSE, SOUTHWARK, SWBH, blank_pdf,
                                  encrypted_copy, live_chunks, replace_file, truncated_copy)


def break_encrypted(corpus: Path) -> tuple[str, str]:
    replace_file(corpus / f"{NHSE}.pdf", encrypted_copy(corpus / f"{NHSE}.pdf"))
    return NHSE, f"{corpus / NHSE}.pdf: encrypted PDF, skipped (old chunks kept)"


def break_truncated(corpus: Path) -> tuple[str, str]:
    replace_file(corpus / f"{BOB}.pdf", truncated_copy(corpus / f"{BOB}.pdf"))
    return BOB, f"{corpus / BOB}.pdf: corrupt or truncated PDF"


def break_no_text(corpus: Path) -> tuple[str, str]:
    replace_file(corpus / f"{SWBH}.pdf", blank_pdf())
    return SWBH, (f"{corpus / SWBH}.pdf: PDF has no extractable text (scanned image?), skipped"
                  " (old chunks kept)")


def break_empty(corpus: Path) -> tuple[str, str]:
    replace_file(corpus / f"{LBBD}.pdf", b"")
    return LBBD, f"{corpus / LBBD}.pdf: empty file, skipped (old chunks kept)"


def break_unknown_extension(corpus: Path) -> tuple[str, str]:
    (corpus / "board-minutes.docx").write_bytes(b"PK\x03\x04 not really a docx")
    return "", f"{corpus}/board-minutes.docx: unsupported file type '.docx', skipped"


def break_row_without_file(corpus: Path) -> tuple[str, str]:
    for path in corpus.glob(f"{SOUTHWARK}.*"):
        path.unlink()
    return SOUTHWARK, (f"{SOUTHWARK}: listed in the manifest but no file in {corpus}"
                       " (old chunks kept)")


BREAKAGES = [break_encrypted, break_truncated, break_no_text, break_empty,
             break_unknown_extension, break_row_without_file]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda f: f.__name__[len("break_"):])
def test_bad_file_gets_one_clear_line_and_keeps_its_old_chunks(hash_settings, breakage):
    run_ingest(hash_settings, progress=False)
    before = {d: live_chunks(hash_settings, d) for d in ALL_DOCS}
    doc_id, reason = breakage(hash_settings.corpus_dir)
    report = run_ingest(hash_settings, progress=False)
    assert len(report.failed) == 1 and report.failed[0].startswith(reason), report.failed
    assert "\n" not in report.failed[0] and not report.ok
    assert sorted(report.unchanged) == sorted(d for d in ALL_DOCS if d != doc_id)
    assert report.removed == [] and report.chunks_embedded == 0
    assert {d: live_chunks(hash_settings, d) for d in ALL_DOCS} == before


def test_first_run_with_every_document_broken_reports_each_and_serves_nothing(hash_settings):
    corpus = hash_settings.corpus_dir
    problems = [breakage(corpus)[1].replace(" (old chunks kept)", "") for breakage in BREAKAGES]
    report = run_ingest(hash_settings, progress=False)
    assert len(report.failed) == len(problems)
    for problem in problems:
        assert [f for f in report.failed if f.startswith(problem)] != [], problem
    assert report.added == [] and report.chunks_total == 0
    assert keyword_index(hash_settings).search("place", ("public",), n=5) == []


def test_cli_exits_non_zero_and_prints_each_failure(hash_settings, tmp_path):
    corpus, data = hash_settings.corpus_dir, tmp_path / "cli-data"
    _, docx_line = break_unknown_extension(corpus)
    _, blank_line = break_no_text(corpus)
    env = {k: v for k, v in os.environ.items() if k.upper() not in ("CHROMA_HOST", "EMBEDDER")}
    result = subprocess.run(
        [sys.executable, "-m", "ingest", "--corpus", str(corpus), "--data", str(data), "--quiet"],
        cwd=tmp_path, env={**env, "EMBEDDER": "hash", "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    failed = [line for line in result.stderr.splitlines() if line.startswith("FAILED ")]
    assert failed == [f"FAILED {docx_line}", f"FAILED {blank_line.replace(' (old chunks kept)', '')}"]
    assert result.stdout.startswith("added 4 / updated 0 / unchanged 0 / removed 0 / failed 2;")


def test_binary_bytes_named_md_or_txt_are_refused_and_nothing_is_stored(hash_settings):
    import random

    from tests.ingest_helpers import add_row

    corpus = hash_settings.corpus_dir
    noise = random.Random(13).randbytes(20_000)
    for name in ("noise.md", "noise2.txt"):
        (corpus / name).write_bytes(noise)
        add_row(corpus / "documents.csv", name.rsplit(".", 1)[0], "Noise", visibility="public")
    report = run_ingest(hash_settings, progress=False)
    assert sorted(report.failed) == [f"{corpus}/noise.md: not a text file (binary content), skipped",
                                     f"{corpus}/noise2.txt: not a text file (binary content), skipped"]
    assert live_chunks(hash_settings, "noise") == [] and live_chunks(hash_settings, "noise2") == []
    assert sorted(report.added) == sorted(ALL_DOCS)


def test_a_file_of_unknown_type_with_a_manifest_row_is_reported_once(hash_settings):
    from tests.ingest_helpers import add_row

    corpus = hash_settings.corpus_dir
    (corpus / "minutes.docx").write_bytes(b"PK\x03\x04 not really a docx")
    add_row(corpus / "documents.csv", "minutes", "Board minutes", visibility="public")
    report = run_ingest(hash_settings, progress=False)
    assert report.failed == [f"{corpus}/minutes.docx: unsupported file type '.docx', skipped"]


@pytest.mark.parametrize("data,binary", [
    ("Café culture and the Health and Wellbeing Board’s plan.\n".encode("cp1252") * 50, False),
    ("Plain guidance text.\n\tIndented.\f".encode() * 50, False),
    (b"\x00\x01\x02PK\x03\x04" * 100, True),
])
def test_legacy_encodings_are_text_and_binary_is_not(data, binary):
    from ingest.load import looks_binary

    assert looks_binary(data.decode("utf-8", errors="replace")) is binary
