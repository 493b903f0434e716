""""Not helpful" votes from Slack -> draft eval cases (JSONL in the eval schema)."""
from __future__ import annotations

import json
from pathlib import Path

from bots.store import BotStore


def export_feedback(db_path: Path | str, out_path: Path) -> int:
    """Write one draft eval case per answer voted "Not helpful"; returns how many were written.

    The cases carry the question and the answer given; a person fills in the expected
    document, pages and key facts before removing `draft`. Answers given in confidential
    conversations are included, so treat the file as confidential.
    """
    rows = BotStore(db_path).feedback(vote="not_helpful")  # a path or a STATE_URL
    cases: dict[str, dict] = {}
    for row in rows:  # several people may vote on one answer: one case per answer
        case = cases.setdefault(row.answer_id, {
            "id": f"slack-{row.answer_id[:12]}",
            "question": row.question,
            "answerable": True,
            "doc": None,
            "pages": [],
            "key_facts": [],
            "quote": None,
            "kind": "fact",
            "draft": True,
            "answer_given": row.answer,
            "comments": [],
        })
        if row.comment:  # what the voters said was wrong: the best hint for the expected answer
            case["comments"].append(row.comment)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", encoding="utf-8") as out:
        for case in cases.values():
            out.write(json.dumps(case, ensure_ascii=False) + "\n")
    return len(cases)
