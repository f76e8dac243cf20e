"""Protocol provenance: a fixed, checked rule on each ``source``, never a guess."""

from __future__ import annotations

from pathlib import Path

import pytest

from blinasim.protocol import load_protocol
from blinasim.protocol.core import _provenance

EXAMPLES = Path(__file__).parents[2] / "src/blinasim/protocol/protocols/examples"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Gupta et al., NEJM 2025: 15 µg/m²/day", "published"),
        ("assumption: adult dose cap", "assumption"),
        ("Assumption: adult dose cap", "assumption"),
        ("calibrated: AALL1731 DFS", "calibrated"),
    ],
)
def test_the_label_decides(source: str, expected: str) -> None:
    assert _provenance(source) == expected


@pytest.mark.parametrize(
    "source", ["assumed: about 28 days", "Assumption - 28 days", "assumption:", "calibrated: x"]
)
def test_an_unlabelled_or_empty_assumption_is_refused(source: str) -> None:
    with pytest.raises(ValueError, match="source"):
        _provenance(source)


@pytest.mark.parametrize("name", ["aall1731", str(EXAMPLES / "aall1731_three_cycles.yaml")])
def test_every_shipped_protocol_value_has_a_valid_provenance(name: str) -> None:
    proto = load_protocol(name)
    seen = set()
    for arm in proto.arms.values():
        for phase in arm.phases:
            seen.add(phase.provenance)
            for d in phase.drugs:
                seen.add(d.provenance)
    assert seen <= {"published", "assumption"}
    assert "assumption" in seen
