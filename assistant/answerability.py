"""Can these passages answer this question? One probability from a small fitted model.

A logistic regression over a handful of features replaces hand-tuned refusal thresholds. It is
fitted with cross-validation on the dev set by `python -m evals fit-answerability`, which
writes the weights and the cross-validated figures to answerability.json beside this file.
Every feature is computed from the question and what the caller may read, so nothing about a
document the caller cannot see shapes the decision.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np

MODEL_FILE = "answerability.json"


@dataclass(frozen=True)
class Features:
    """What the decision looks at, each in 0..1."""

    similarity: float  # best dense cosine similarity of question and passage
    coverage: float  # idf-weighted share of the question's terms in the best unit
    typed: float  # the best unit has the answer's shape (a date for "when", ...)
    passage_coverage: float  # share of the question's terms found anywhere in the passages
    unknown_terms: float  # share of the question's terms no document the caller may read uses
    unknown_subject: float  # share of what a what/which question asks about in no readable text
    unknown_name: float  # a name in the question is in no retrieved passage
    no_value: float  # the passages give no number, sum, date or name of the kind asked for
    meaning: float = 0.0  # cosine similarity of the question and the best unit
    like_unanswerable: float = 0.0  # nearer the dev questions the documents do not answer
    like_nearest: float = 0.0  # the same by the single nearest of each: worded like one of them
    outcome: float = 0.0  # asks what happened after a paper was written ("did they ever ...")


    def vector(self) -> list[float]:
        return list(asdict(self).values())


FEATURES = list(Features.__dataclass_fields__)


PRECEDENTS = 10  # nearest questions of each kind (cross-validated on the dev set: 3, 5, 10)


def like_unanswerable(question: np.ndarray, precedents: np.ndarray,
                      answerable: np.ndarray, k: int = PRECEDENTS) -> float:
    """How much nearer a question is in meaning to the dev questions the documents could not
    answer than to those they could: the mean cosine of its k nearest of each, the one less
    the other. A question like "what is the hybrid working allowance" resembles the staff
    policies, outcomes and other people's documents that no paper here covers, in words the
    lexical features cannot tie together."""
    if precedents.size == 0 or question.shape[0] != precedents.shape[1]:
        return 0.0
    similarity = precedents @ question
    nearest = [np.sort(similarity[answerable == kind])[::-1][:k] for kind in (False, True)]
    if any(part.size == 0 for part in nearest):
        return 0.0
    return float(nearest[0].mean() - nearest[1].mean())


@dataclass(frozen=True)
class Model:
    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5
    # dev questions, whether the documents answer them, and the visibility a caller needs for
    # that to hold: the precedents `like_unanswerable` compares a question with ("public" for
    # a question answered alike under every clearance, "confidential" for one only a cleared
    # caller has answered; a public caller is compared with the first kind only)
    precedents: tuple[tuple[str, bool, str], ...] = field(default=())

    def probability(self, features: Features) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, features.vector()))
        return 1 / (1 + math.exp(-max(-40.0, min(40.0, z))))


@lru_cache(maxsize=1)
def load_model() -> Model:
    """The fitted model shipped with the package."""
    data = json.loads((resources.files("assistant") / MODEL_FILE).read_text())
    if data["features"] != FEATURES:
        raise RuntimeError(f"{MODEL_FILE} was fitted on other features; refit it")
    return Model(tuple(data["weights"]), data["bias"], data.get("threshold", 0.5),
                 tuple((p["question"], p["answerable"], p.get("visibility", "public"))
                       for p in data.get("precedents", ())))
