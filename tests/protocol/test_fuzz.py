"""Fuzz the loader: every input gives a Protocol or one ProtocolError, nothing else."""

import copy
import math

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blinasim.errors import ProtocolError
from blinasim.protocol import Protocol, load_protocol_data, load_protocol_text
from blinasim.protocol.loader import shipped_protocols

SHIPPED = yaml.safe_load(shipped_protocols()["aall1731"].read_text())
SHIPPED_TEXT = shipped_protocols()["aall1731"].read_text()


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(SHIPPED) if p]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "IM1",
            "DI",
            "B",
            "A",
            "induction",
            "maintenance",
            "1-28",
            "-3",
            "CIV",
            "IT",
            "mg/m2",
            "SR-High",
            "aall1731",
            "0-0",
            "1-99999",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _check(outcome_fn):
    try:
        result = outcome_fn()
    except ProtocolError as exc:
        msg = str(exc)
        assert "\n" not in msg
        assert "expected" in msg
        return
    assert isinstance(result, Protocol)
    for arm in result.arms.values():
        assert arm.end_day > 0
        assert all(p.length_days > 0 for p in arm.phases)


@st.composite
def mutated(draw):
    doc = copy.deepcopy(SHIPPED)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent = doc
        try:
            for k in path[:-1]:
                parent = parent[k]
            key = path[-1]
            parent[key]  # the path may no longer exist after an earlier edit
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(parent, dict | list):
            continue
        action = draw(st.sampled_from(["delete", "replace", "negate", "unknown_key", "duplicate"]))
        if action == "delete":
            del parent[key]
        elif action == "replace":
            parent[key] = draw(values)
        elif action == "negate":
            v = parent[key]
            if isinstance(v, int | float) and not isinstance(v, bool):
                parent[key] = -v - 1
            else:
                parent[key] = -1
        elif action == "unknown_key":
            if isinstance(parent[key], dict):
                parent[key][draw(st.text(min_size=1, max_size=8))] = draw(scalars)
            else:
                parent[key] = {"unexpected": draw(scalars)}
        elif action == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_documents(doc):
    _check(lambda: load_protocol_data(doc, origin="fuzz.yaml"))


@settings(max_examples=30, deadline=None)
@given(st.one_of(st.text(max_size=200), values.map(lambda v: yaml.safe_dump(v))))
def test_garbage_text(text):
    _check(lambda: load_protocol_text(text, origin="fuzz.yaml"))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(SHIPPED_TEXT) - 1), st.integers(1, 40), st.text(max_size=10))
def test_text_splices(at, cut, insert):
    text = SHIPPED_TEXT[:at] + insert + SHIPPED_TEXT[at + cut :]
    _check(lambda: load_protocol_text(text, origin="fuzz.yaml"))


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_documents_many(doc):
    _check(lambda: load_protocol_data(doc, origin="fuzz.yaml"))


def test_nan_and_inf_are_rejected():
    for bad in (math.nan, math.inf):
        doc = copy.deepcopy(SHIPPED)
        doc["arms"]["FAV"]["phases"][0]["drugs"][0]["dose"] = bad
        with pytest.raises(ProtocolError, match=r"drugs\[0\]\.dose: expected a finite number"):
            load_protocol_data(doc)
