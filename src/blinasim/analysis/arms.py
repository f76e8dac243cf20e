"""Which arm is the reference: given (``--control``) or recognised from the data, never guessed.

A two-arm comparison is only readable when its direction is known: a hazard ratio of 0.3
(treatment versus control) and 3.5 (control versus treatment) say the same thing about
opposite arms. The reference arm is therefore either named by the user or recognised from
the treatment labels by words that name a control arm (``placebo``, ``control``,
``standard``, ``observation``, ... and, for chemotherapy-backbone trials such as AALL1731,
``chemotherapy`` alone rather than ``blinatumomab + chemotherapy``). The label column is
tried first, then the ADaM planned-arm code ``ARMCD`` (``PBO``, ``CTRL``, ``SOC``,
``chemo``). When neither names exactly one arm the analysis stops and asks for
``--control``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from blinasim.errors import InputError

# words that name a control arm, strongest first: a label matching an earlier tier wins
CONTROL_WORDS: tuple[tuple[str, ...], ...] = (
    (
        "placebo",
        "pbo",
        "control",
        "ctrl",
        "ctl",
        "standard",
        "std",
        "soc",
        "usual care",
        "standard of care",
        "best supportive care",
        "bsc",
        "observation",
        "obs",
        "reference",
        "comparator",
    ),
    ("chemotherapy", "chemo"),
)
# a label that adds something to a backbone is an experimental arm ("blinatumomab + chemo")
_COMBINATION = re.compile(r"\+|&|\b(plus|with|and|add|added|addition)\b")


@dataclass(frozen=True)
class ControlArm:
    """The reference arm and how it was chosen (shown on the first line of the output)."""

    arm: str
    reason: str

    def line(self) -> str:
        """``reference arm: chemotherapy (recognised from TRT01P value 'chemotherapy')``."""
        return f"reference arm: {self.arm} ({self.reason})"


def _words(label: str) -> str:
    return " " + re.sub(r"[^a-z0-9+&]+", " ", label.lower()).strip() + " "


def _names_control(label: str, tier: Sequence[str]) -> bool:
    text = _words(label)
    if _COMBINATION.search(text):
        return False
    return any(f" {w} " in text for w in tier)


def _recognise(values: dict[str, str]) -> str | None:
    """The arm (key) whose value alone names a control arm, tier by tier; else None."""
    for tier in CONTROL_WORDS:
        hits = [arm for arm, value in values.items() if _names_control(value, tier)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            return None  # two arms look like controls: ambiguous, ask
    return None


def resolve_control(
    data: pd.DataFrame,
    arms: Sequence[str],
    control: str | None = None,
    *,
    file: str | None = None,
    arm_column: str = "ARM",
) -> ControlArm:
    """The reference arm among the two ``arms`` of ``data`` (validated ADTTE rows).

    ``control`` given: it must be one of ``arms``. Otherwise recognised from the arm labels
    (column ``arm_column`` in the file), then from ``ARMCD`` when the data carry it; a
    one-line :class:`InputError` asks for ``--control`` when that fails.
    """
    arms = list(arms)
    if control is not None:
        if control not in arms:
            match = [a for a in arms if a.lower() == control.strip().lower()]
            if len(match) != 1:
                raise InputError(
                    f"--control naming one of the arms {arms}",
                    file=file,
                    field="--control",
                    got=control,
                )
            control = match[0]
        return ControlArm(control, "given by --control")
    hit = _recognise({a: a for a in arms})
    if hit is not None:
        return ControlArm(hit, f"recognised from {arm_column} value {hit!r}")
    if "ARMCD" in data.columns:
        codes = data.groupby("ARM", sort=True)["ARMCD"].unique()
        mapping = {str(a): [str(c) for c in codes[a]] for a in codes.index if a in arms}
        if all(len(c) == 1 for c in mapping.values()) and len(mapping) == len(arms):
            hit = _recognise({a: c[0] for a, c in mapping.items()})
            if hit is not None:
                return ControlArm(hit, f"recognised from ARMCD value {mapping[hit][0]!r}")
    raise InputError(
        f"--control naming the reference arm: none of the arms {arms} is recognisably a "
        "control arm (placebo, control, standard, chemotherapy alone, ...)",
        file=file,
        field="reference arm",
    )


__all__ = ["CONTROL_WORDS", "ControlArm", "resolve_control"]
