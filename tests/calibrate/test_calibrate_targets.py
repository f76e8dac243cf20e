"""Targets and config files: the shipped ones load, bad ones fail with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from blinasim.calibrate.config import load_config
from blinasim.calibrate.targets import default_targets_path, load_targets
from blinasim.errors import InputError


def test_shipped_targets_cover_the_reference() -> None:
    ts = load_targets()
    ids = set(ts.ids())
    for must in (
        "dfs3_all_blina",
        "dfs3_avg_chemo",
        "dfs3_high_blina",
        "atrisk4_chemo",
        "ae_sepsis_high_blina",
        "ae_crs_avg_blina",
        "efs5_eoi_mrd_negative",
        "eoi_flow_negative",
        "mrd_response_adults",
        "mrd_response_children",
        "css_28ug",
        "cd19neg_fraction_blina",
        "efs5_aall0932",
        "os5_aall0932",
        "marrow_share_relapses",
        "isolated_cns_ci6",
    ):
        assert must in ids
    for t in ts.targets:
        assert t.se > 0
        assert len(t.source) > 10
    assert ts.get("eoi_flow_negative").is_assumption
    assert not ts.get("dfs3_all_blina").is_assumption
    # counts: SE from the published proportion
    sepsis = ts.get("ae_sepsis_avg_chemo")
    assert sepsis.kind == "binomial"
    assert (sepsis.events, sepsis.n) == (19, 376)
    # a CI gives SE = width / 3.92
    assert ts.get("efs5_aall0932").se == pytest.approx((0.928 - 0.911) / 3.919928, rel=1e-6)


def _bad(tmp_path: Path, edit: dict[str, object], index: int = 0) -> str:
    doc = yaml.safe_load(default_targets_path().read_text())
    doc["targets"][index].update(edit)
    p = tmp_path / "t.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True))
    with pytest.raises(InputError) as exc:
        load_targets(p)
    msg = str(exc.value)
    assert "\n" not in msg
    assert str(p) in msg
    return msg


def test_bad_target_files_fail_with_one_line(tmp_path: Path) -> None:
    assert "exactly one of se" in _bad(tmp_path, {"ci95": [0.9, 0.99]})
    assert "targets[dfs3_all_blina]" in _bad(tmp_path, {"ci95": [0.9, 0.99]})
    assert "exactly one of se" in _bad(tmp_path, {"se": None})
    msg = _bad(tmp_path, {"summary": {"statistic": "dfs", "years": 3}})
    assert "needs" in msg
    assert "statistic" in _bad(tmp_path, {"summary": {"statistic": "nonsense"}})
    assert "events / count.n" in _bad(tmp_path, {"estimate": 0.5}, index=6)
    doc = yaml.safe_load(default_targets_path().read_text())
    doc["targets"].append(dict(doc["targets"][0]))
    p = tmp_path / "dup.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True))
    with pytest.raises(InputError, match="duplicate target id"):
        load_targets(p)


def test_shipped_config_splits_every_target() -> None:
    cfg = load_config()
    ts = cfg.load_targets()
    assert set(cfg.fit) | set(cfg.hold_out) == set(ts.ids())
    assert not set(cfg.fit) & set(cfg.hold_out)
    assert 6 <= len(cfg.free_parameters) <= 12


def test_config_errors(toy_config: Path, tmp_path: Path) -> None:
    from conftest import write_config

    tmp_path = tmp_path / "variants"
    tmp_path.mkdir()
    with pytest.raises(InputError, match="every target listed"):
        load_config(write_config(tmp_path, hold_out=[]))
    with pytest.raises(InputError, match="toy_zzz"):
        load_config(write_config(tmp_path, hold_out=["toy_c", "toy_zzz"]))
    with pytest.raises(InputError, match="both in fit and hold_out"):
        load_config(write_config(tmp_path, hold_out=["toy_c", "toy_a"]))
    with pytest.raises(InputError, match="walkers must be even"):
        load_config(write_config(tmp_path, sampler={"walkers": 7}))
    with pytest.raises(InputError, match="burn_in must be < steps"):
        load_config(write_config(tmp_path, sampler={"burn_in": 100}))
    assert load_config(toy_config).digest() == load_config(toy_config).digest()
