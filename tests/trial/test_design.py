"""Trial designs as data: shipped designs load, bad files give one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from blinasim.errors import InputError
from blinasim.trial.design import design_from_dict, load_design, shipped_designs

from .conftest import small_doc


def test_shipped_designs_load() -> None:
    names = shipped_designs()
    assert "aall1731_parametric" in names
    for name in names:
        d = load_design(name)
        assert d.name == name
        assert d.population.strata


def test_aall1731_parametric_carries_published_facts() -> None:
    d = load_design("aall1731_parametric")
    assert str(d.accrual.start_date) == "2019-06-28"
    assert d.population.strata == ["SR-Average", "SR-High"]
    assert d.monitoring.assumption
    assert d.accrual.assumption
    assert d.outcomes.assumption


def test_design_hash_changes_with_content() -> None:
    a = design_from_dict(small_doc())
    doc = small_doc()
    doc["loss_to_follow_up"]["rate_per_year"] = 0.06
    b = design_from_dict(doc)
    assert a.design_hash() == design_from_dict(small_doc()).design_hash()
    assert a.design_hash() != b.design_hash()


def _bad(mutate) -> str:
    doc = small_doc()
    mutate(doc)
    with pytest.raises(InputError) as exc:
        design_from_dict(doc, file="d.yaml")
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith("d.yaml: ")
    return msg


def test_unknown_key_is_named_with_its_path() -> None:
    msg = _bad(lambda d: d["accrual"].update(rate=3))
    assert "accrual.rate" in msg
    assert "unknown key" in msg


def test_bad_value_names_field_and_value() -> None:
    msg = _bad(lambda d: d["accrual"]["periods"][0].update(rate_per_month=-2))
    assert "accrual.periods[0].rate_per_month" in msg
    assert "-2" in msg


def test_missing_field() -> None:
    msg = _bad(lambda d: d.pop("allocation"))
    assert "allocation" in msg
    assert "present" in msg


def test_bad_outcome_model_reference() -> None:
    msg = _bad(lambda d: d["outcomes"]["models"][0].update(stratum="Nope"))
    assert "Nope" in msg


def test_missing_cell_model() -> None:
    msg = _bad(lambda d: d["outcomes"]["models"].pop(1))
    assert "High" in msg


def test_block_size_must_fit_ratio() -> None:
    msg = _bad(lambda d: d["allocation"].update(ratio=[1, 2], block_sizes=[4]))
    assert "multiples of 3" in msg


def test_fractions_must_sum_to_one() -> None:
    msg = _bad(lambda d: d["population"]["risk_groups"][0].update(fraction=0.5))
    assert "sum" in msg


def test_futility_needs_one_bound_per_interim() -> None:
    msg = _bad(lambda d: d["monitoring"].update(futility={"bounds_z": [0, 1]}))
    assert "bounds_z" in msg


def test_load_from_file_and_bad_yaml(tmp_path: Path) -> None:
    p = tmp_path / "x.yaml"
    p.write_text(yaml.safe_dump(small_doc()))
    assert load_design(p).name == "small"
    p.write_text("name: [unclosed")
    with pytest.raises(InputError, match=r"x\.yaml"):
        load_design(p)
    with pytest.raises(InputError, match="shipped designs"):
        load_design("no_such_design")
