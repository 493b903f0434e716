"""The real retriever, answerers and catalogue keep the contracts in assistant/protocols.py:
every method, with the same parameter names, kinds and defaults (so keyword calls never break)."""
from __future__ import annotations

import inspect

import pytest

from assistant.answer import ExtractiveAnswerer
from assistant.compose import UnitAnswerer
from assistant.llm import LLMAnswerer
from assistant.protocols import AnswererProtocol, CatalogueProtocol, RetrieverProtocol
from assistant.retrieve import Retriever
from assistant.service import Catalogue


def contract_breaks(impl: type, protocol: type) -> list[str]:
    """What `impl` lacks of `protocol`: missing methods, parameters, kinds or defaults."""
    problems = []
    for name, wanted in inspect.getmembers(protocol, inspect.isfunction):
        if name.startswith("_"):
            continue
        if not callable(getattr(impl, name, None)):
            problems.append(f"{name}: missing")
            continue
        have = inspect.signature(getattr(impl, name)).parameters
        for param in list(inspect.signature(wanted).parameters.values())[1:]:
            got = have.get(param.name)
            if got is None:
                problems.append(f"{name}: no parameter {param.name!r}")
            elif got.kind != param.kind:
                problems.append(f"{name}: {param.name!r} is {got.kind.description}")
            elif param.default is not param.empty and got.default is got.empty:
                problems.append(f"{name}: {param.name!r} has no default")
    return problems


@pytest.mark.parametrize("impl,protocol", [
    (Retriever, RetrieverProtocol), (ExtractiveAnswerer, AnswererProtocol),
    (UnitAnswerer, AnswererProtocol),
    (LLMAnswerer, AnswererProtocol), (Catalogue, CatalogueProtocol)])
def test_real_parts_keep_their_contract(impl, protocol):
    assert issubclass(impl, protocol)
    assert contract_breaks(impl, protocol) == []


def test_a_broken_contract_is_reported():
    class Positional:
        def answer(self, question, hits, clearance):
            ...

    assert not issubclass(Positional, AnswererProtocol)  # no stream
    assert contract_breaks(Positional, AnswererProtocol) == [
        "answer: 'clearance' is positional or keyword", "answer: no parameter 'history'",
        "stream: missing"]
