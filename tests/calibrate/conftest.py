"""Fixtures of the calibration tests: the toy config and a helper to write variants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

HERE = Path(__file__).parent


def write_config(tmp_path: Path, **changes: Any) -> Path:
    """A copy of the toy config with top-level keys (or nested dicts) replaced."""
    doc = yaml.safe_load((HERE / "toy_config.yaml").read_text())
    doc["targets_file"] = str(HERE / "toy_targets.yaml")
    for key, val in changes.items():
        if isinstance(val, dict) and isinstance(doc.get(key), dict):
            doc[key] = {**doc[key], **val}
        else:
            doc[key] = val
    p = tmp_path / "config.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def user_posterior(out: Path) -> Path:
    """The posterior CSV a ``blinasim calibrate`` run wrote into ``out`` (its own name)."""
    found = sorted(out.glob("posterior_*_user-*.csv"))
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def toy_config(tmp_path: Path) -> Path:
    """Path of a toy calibration config in a temporary folder."""
    return write_config(tmp_path)
