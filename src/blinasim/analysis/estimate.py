"""A point estimate with its standard error and 95% interval, or why there is none."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Estimate:
    """A point estimate with standard error and 95% interval.

    ``note`` says why there is no estimate (the numbers are then NaN).
    """

    estimate: float
    se: float
    lower: float
    upper: float
    note: str = ""

    @classmethod
    def missing(cls, why: str) -> Estimate:
        """No estimate, because ``why``."""
        nan = float("nan")
        return cls(nan, nan, nan, nan, why)

    @property
    def estimable(self) -> bool:
        """False when the data cannot give this estimate."""
        return not self.note

    def flag(self) -> str:
        """``"not estimable: <why>"``."""
        return f"not estimable: {self.note}"

    def percent(self) -> str:
        """``"87.9% ± 2.1%"``; the SE is omitted where it is not estimable (S = 0 or 1)."""
        if self.note:
            return self.flag()
        if self.se != self.se:  # NaN
            return f"{self.estimate:.1%} (SE not estimable)"
        return f"{self.estimate:.1%} ± {self.se:.1%}"

    def interval(self, fmt: str = ".1%", sep: str = " to ") -> str:
        """``"85.1% to 90.2%"``, or the reason there is none."""
        if self.note:
            return self.flag()
        if not (math.isfinite(self.lower) and math.isfinite(self.upper)):
            return "–"  # e.g. S = 1 with no events: no Greenwood interval
        return f"{self.lower:{fmt}}{sep}{self.upper:{fmt}}"

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for JSON); ``not_estimable`` gives the reason when there is none."""
        out: dict[str, Any] = {
            "estimate": self.estimate,
            "se": self.se,
            "lower": self.lower,
            "upper": self.upper,
        }
        if self.note:
            out["not_estimable"] = self.note
        return out


__all__ = ["Estimate"]
