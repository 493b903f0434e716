"""Evaluation suite: question sets, metrics, reports and the CI gate."""
