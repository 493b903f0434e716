"""Fit the answerability model on the dev set, with cross-validated figures:
`python -m evals.fit [--questions FILE] [--out assistant/answerability.json]`.

Each dev question is asked under both clearances; it is answerable under a clearance when the
dev set says it is answerable and every document holding its answer is visible there. The
features are the ones the answerer computes (assistant.answerability.Features), so what is
fitted is exactly what runs. Never fit on a holdout.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from assistant.compose import UnitAnswerer
from assistant.answerability import FEATURES, MODEL_FILE, PRECEDENTS, Model, like_unanswerable
from core.settings import get_settings, visible_to
from evals.dataset import DEV_SET, FRESH_SETS, Question, load_questions, read_manifest

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "assistant" / MODEL_FILE
FOLDS = 5
REGULARISATION = 1.0  # sklearn's C; the figures below are cross-validated at this value


def collect(questions: list[Question], assistant, visibility: dict[str, str]):
    """Feature rows and labels: one per question and clearance."""
    answerer = assistant.answerer
    if not isinstance(answerer, UnitAnswerer):
        answerer = getattr(answerer, "fallback", None)
    if not isinstance(answerer, UnitAnswerer):
        raise SystemExit("fitting needs ANSWER_ENGINE=units (and PDF_LAYOUT=tagged, re-ingested)")
    rows, labels, ids = [], [], []
    for q in questions:
        for clearance in ("public", "confidential"):
            allowed = visible_to(clearance)
            label = q.answerable and all(visibility.get(d) in allowed for d in q.pages)
            hits = assistant.retriever.retrieve(q.question, clearance)
            scored = answerer.scored_units(q.question, hits)
            features = answerer.features(q.question, hits, scored[0] if scored else None,
                                         clearance)
            rows.append(features.vector())
            labels.append(int(label))
            ids.append(f"{q.id}/{clearance}")
    return np.array(rows), np.array(labels), ids


def precedents_of(questions: Sequence[Question], labels: np.ndarray,
                  ids: Sequence[str]) -> list[tuple[str, bool, str]]:
    """Dev questions as precedents: with their label and "public" when it is the same under
    every clearance; as answerable and "confidential" when only a cleared caller has them
    answered, so a public caller is never compared with what they cannot see."""
    by_clearance: dict[str, dict[str, int]] = {}
    for row_id, label in zip(ids, labels):
        question, clearance = row_id.split("/")
        by_clearance.setdefault(question, {})[clearance] = int(label)
    precedents = []
    for q in questions:
        seen = by_clearance.get(q.id, {})
        if len(set(seen.values())) == 1:
            precedents.append((q.question, bool(next(iter(seen.values()))), "public"))
        elif seen.get("confidential") == 1:
            precedents.append((q.question, True, "confidential"))
    return precedents


def left_out_precedent_feature(questions: Sequence[Question], ids: Sequence[str],
                               precedents: Sequence[tuple[str, bool, str]], embed,
                               k: int = PRECEDENTS) -> np.ndarray:
    """`like_unanswerable` of each row over the precedents its clearance may be compared
    with, its own question left out, as it is for a question the model has never seen."""
    texts = [text for text, _, _ in precedents]
    vectors = np.asarray(embed(texts))
    answerable = np.array([a for _, a, _ in precedents], bool)
    text_of = {q.id: q.question for q in questions}
    own = {text: np.asarray(embed([text]))[0] for text in set(text_of.values())}
    column = []
    for row_id in ids:
        question, clearance = row_id.split("/")
        text, allowed = text_of[question], visible_to(clearance)
        usable = np.array([t != text and needs in allowed for t, _, needs in precedents])
        column.append(like_unanswerable(own[text], vectors[usable], answerable[usable], k))
    return np.array(column)


def figures(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    answerable, unanswerable = labels == 1, labels == 0
    return {
        "accuracy": round(float((labels == predicted).mean()), 3),
        "answered_rate_answerable": round(float(predicted[answerable].mean()), 3),
        "refusal_rate_unanswerable": round(float(1 - predicted[unanswerable].mean()), 3),
    }


# issue 11 asks that 90% of answerable questions be answered; a threshold set right at 0.90 on
# cross-validation misses it on new questions about half the time, hence the margin. 0.92 left
# fresh wording answered 0.79-0.86 (sixteenth session), so the margin is wider
ANSWERED_FLOOR = 0.95
THRESHOLDS = [round(0.01 * i, 2) for i in range(20, 71)]  # 0.20 .. 0.70


def fit(rows: np.ndarray, labels: np.ndarray, questions: Sequence[str] | None = None) -> dict:
    """Cross-validated probabilities pick the threshold (the most refusals of unanswerable
    questions that still answers ANSWERED_FLOOR of the answerable ones) and give the figures
    reported; then the model is fitted on every row. Folds keep a question's rows together
    (`questions`, one id per row): its public and confidential rows are near twins, and a fold
    that tests one while training on the other overstates the figures."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict

    model = LogisticRegression(C=REGULARISATION, class_weight="balanced", max_iter=1000)
    folds = StratifiedGroupKFold(n_splits=FOLDS, shuffle=True, random_state=0)
    groups = list(questions) if questions is not None else list(range(len(labels)))
    probability = cross_val_predict(model, rows, labels, cv=folds, groups=groups,
                                    method="predict_proba")[:, 1]

    def outcome(threshold: float) -> tuple[bool, float]:
        scores = figures(labels, (probability >= threshold).astype(int))
        return (scores["answered_rate_answerable"] >= ANSWERED_FLOOR,
                scores["refusal_rate_unanswerable"])

    threshold = max(THRESHOLDS, key=outcome)
    model.fit(rows, labels)
    return {
        "features": FEATURES,
        "weights": [round(float(w), 4) for w in model.coef_[0]],
        "bias": round(float(model.intercept_[0]), 4),
        "threshold": threshold,
        "cross_validated": figures(labels, (probability >= threshold).astype(int))
        | {"folds": FOLDS},
        "fitted_on": {"rows": int(len(labels)), "answerable": int(labels.sum()),
                      "unanswerable": int(len(labels) - labels.sum())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.fit", description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=Path, default=DEV_SET,
                        help="question file to fit on (the dev set; never a holdout)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the model")
    args = parser.parse_args(argv)
    if "holdout" in args.questions.name or args.questions.name in {f.name for f in FRESH_SETS}:
        parser.error(f"refusing to fit on {args.questions.name}: it measures what was not fitted")
    from assistant.service import build_assistant

    settings = get_settings()
    neutral = Model(tuple(0.0 for _ in FEATURES), 0.0)  # the shipped one may predate a feature
    assistant = build_assistant(settings, answer_model=neutral)
    visibility = read_manifest(settings.corpus_dir, settings.manifest_name)
    questions = load_questions(args.questions)
    rows, labels, ids = collect(questions, assistant, visibility)
    precedents = precedents_of(questions, labels, ids)
    rows[:, FEATURES.index("like_unanswerable")] = left_out_precedent_feature(
        questions, ids, precedents, assistant.retriever.embedder.embed)
    rows[:, FEATURES.index("like_nearest")] = left_out_precedent_feature(
        questions, ids, precedents, assistant.retriever.embedder.embed, 1)
    model = fit(rows, labels, [row_id.split("/")[0] for row_id in ids])
    model["precedents"] = [{"question": q, "answerable": a, "visibility": v}
                           for q, a, v in precedents]
    model["questions"] = args.questions.name
    model["fitted"] = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    args.out.write_text(json.dumps(model, indent=1) + "\n")
    print(json.dumps({k: model[k] for k in ("weights", "bias", "cross_validated", "fitted_on")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
