"""One-way sensitivity analysis (tornado): each input at its low and high bound.

:func:`tornado` re-evaluates both arms' base-case histories with one input at a time set to
its bound (:func:`~.values.bounds`: the setting's ``range``, else the 2.5%/97.5% quantiles
of its PSA distribution) and reports the incremental net monetary benefit at the setting's
threshold and the ICER (with its quadrant, :func:`~.summaries.icer`) at each bound, the
widest swing first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from blinasim.economics.discount import Mode
from blinasim.economics.evaluate import Origin, evaluate
from blinasim.economics.history import EventHistory
from blinasim.economics.summaries import icer
from blinasim.economics.values import Values, bounds


@dataclass(frozen=True)
class TornadoRow:
    """One input at its bounds: incremental NMB and ICER at the low and the high value."""

    input: str
    base: float
    low: float
    high: float
    nmb_low: float
    nmb_high: float
    icer_low: dict[str, Any]
    icer_high: dict[str, Any]

    @property
    def swing(self) -> float:
        """``|nmb_high - nmb_low|``."""
        return abs(self.nmb_high - self.nmb_low)


def _increments(
    histories: Mapping[str, EventHistory],
    values: Values,
    comparator: str,
    intervention: str,
    origin: Origin,
    discounting: Mode,
) -> tuple[float, float]:
    a = evaluate(histories[comparator], values, origin=origin, discounting=discounting)
    b = evaluate(histories[intervention], values, origin=origin, discounting=discounting)
    return b.costs - a.costs, b.qalys - a.qalys


def tornado(
    histories: Mapping[str, EventHistory],
    base: Values,
    *,
    comparator: str,
    intervention: str,
    origin: Origin = "diagnosis",
    discounting: Mode = "continuous",
    inputs: Sequence[str] | None = None,
    threshold: float | None = None,
) -> tuple[float, list[TornadoRow]]:
    """Base-case incremental NMB and one row per input (widest swing first).

    ``inputs`` restricts the inputs (default: every input with bounds); ``threshold``
    defaults to the setting's.
    """
    lam = base.setting.threshold.value if threshold is None else threshold
    dc, dq = _increments(histories, base, comparator, intervention, origin, discounting)
    nmb0 = lam * dq - dc
    rows: list[TornadoRow] = []
    for name, (lo, hi) in bounds(base.setting).items():
        if inputs is not None and name not in inputs:
            continue
        res = []
        for x in (lo, hi):
            c, q = _increments(
                histories, base.replace(**{name: x}), comparator, intervention, origin, discounting
            )
            res.append((lam * q - c, icer(c, q)))
        rows.append(
            TornadoRow(
                input=name,
                base=base[name],
                low=lo,
                high=hi,
                nmb_low=res[0][0],
                nmb_high=res[1][0],
                icer_low=res[0][1],
                icer_high=res[1][1],
            )
        )
    rows.sort(key=lambda r: -r.swing)
    return nmb0, rows
