"""Targets and config files: the shipped ones load, bad ones fail with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from blinasim.calibrate.config import default_config_path, load_config
from blinasim.calibrate.targets import (
    ROLES,
    default_targets_path,
    load_targets,
    published,
    published_for_run,
    role_label,
)
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
        assert t.se > 0 or (t.role == "input" and t.kind == "exact")
        assert len(t.source) > 10
        assert t.low <= t.estimate <= t.high
    assert ts.get("eoi_flow_negative").is_assumption
    assert ts.get("eoi_flow_negative").provenance == "assumption"
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
    assert "events / count.n" in _bad(tmp_path, {"estimate": 0.5}, index=7)
    assert "role" in _bad(tmp_path, {"role": "validation"})
    assert "provenance" in _bad(tmp_path, {"provenance": "calibrated"})
    # provenance is a field: a source that reads like an assumption must say so
    assert "a published source is a citation" in _bad(tmp_path, {"source": "assumed: 96%"})
    assert "starts with 'assumption:" in _bad(tmp_path, {"provenance": "assumption"})
    assert "a fitted target needs a summary" in _bad(tmp_path, {"summary": None}, index=3)
    assert "differs from summary.arm" in _bad(tmp_path, {"arm": "chemotherapy"})
    assert "differs from summary.years" in _bad(tmp_path, {"time_years": 5})
    assert "exactly one of" in _bad(tmp_path, {"role": "held_out"}, index=8)  # an exact input
    doc = yaml.safe_load(default_targets_path().read_text())
    doc["targets"].append(dict(doc["targets"][0]))
    p = tmp_path / "dup.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True))
    with pytest.raises(InputError, match="duplicate target id"):
        load_targets(p)


def test_shipped_config_selects_targets_by_role() -> None:
    """The config keeps no target lists: the roles give exactly the shipped posterior's."""
    from blinasim.calibrate.ensemble import load_posterior

    cfg = load_config()
    ts = cfg.load_targets()
    every = load_targets()
    assert set(cfg.fit) == {t.id for t in every.targets if t.role == "fitted"}
    assert set(cfg.fit) | set(cfg.hold_out) == set(ts.ids())
    assert set(ts.ids()) == {t.id for t in every.targets if t.summary is not None}
    assert not set(cfg.fit) & set(cfg.hold_out)
    assert 6 <= len(cfg.free_parameters) <= 20
    assert "fit" not in yaml.safe_load(default_config_path().read_text())
    # same lists, same order, as the config the shipped posterior was fitted with
    meta = load_posterior().meta["config"]
    assert list(cfg.fit) == meta["fit"]
    assert list(cfg.hold_out) == meta["hold_out"]
    # targets without a simulated counterpart are not compared by the calibration
    assert "n_randomized_blina" not in ts.ids()
    assert "death_in_remission_chemo" not in ts.ids()


def test_roles_follow_the_model_review() -> None:
    from blinasim.calibrate.ensemble import load_posterior

    ts = load_targets()
    roles = {t.id: t.role for t in ts.targets}
    # what the shipped posterior was fitted to is still called fitted (roles are truthful
    # about what a number did; later model versions may fit more)
    meta = load_posterior().meta
    assert all(roles[i] == "fitted" for i in meta["fit_targets"])
    assert {roles["dfs3_all_blina"], roles["dfs3_all_chemo"]} == {"derived"}
    assert all(roles[t.id] == "closed_form" for t in ts.find("adverse_event"))
    assert len(ts.find("adverse_event")) == 12
    assert all(t.role == "closed_form" for t in ts.find("at_risk"))
    assert {roles["css_28ug"], roles["css_9ug"]} == {"closed_form"}
    assert {t.role for t in ts.find("n_randomized")} == {"input"}
    compared = [t for t in ts.targets if t.summary is not None]
    held = {t.id for t in compared if t.role == "held_out"}
    # what the shipped posterior held out is held out; model v2 added held-out targets with
    # independent information, and fits the CCG-1952 marrow share again (review point 6)
    shipped_held = {i for i in meta["held_out_targets"] if roles[i] == "held_out"}
    assert shipped_held == held
    assert {
        "dfs1_all_chemo",
        "dfs2_all_chemo",
        "cr_response_adults_rr",
        "efs5_eoc_mrd_positive",
        "isolated_cns_ci6",
    } <= held
    assert roles["marrow_share_relapses"] == "fitted"
    assert roles["cr_response_children_rr"] == "fitted"
    assert roles["hr_dfs_all"] == "derived"
    # the CD19-negative share is an assumption (Braig 2017 counts patients, not relapses)
    cd19 = ts.get("cd19neg_fraction_blina")
    assert cd19.provenance == "assumption"
    assert (cd19.low, cd19.high) == (0.05, 0.30)
    assert "share of patients" in cd19.source
    for t in ts.targets:
        if t.role not in ("fitted", "held_out"):
            assert t.role_note, t.id  # why a number is not a validation
        assert t.is_validation == (t.role == "held_out")


def test_targets_are_looked_up_by_fields() -> None:
    ts = load_targets()
    t = published("dfs", arm="blinatumomab", stratum="SR-High", time_years=3)
    assert (t.id, t.estimate, t.se, t.role) == ("dfs3_high_blina", 0.941, 0.025, "fitted")
    assert published("dfs", arm="chemotherapy", stratum="all", time_years=3).role == "derived"
    n = published("n_randomized", arm="chemotherapy")
    assert (n.estimate, n.role, n.kind, n.se) == (722, "input", "exact", 0.0)
    ae = published("adverse_event", arm="blinatumomab", stratum="SR-Average", event="sepsis")
    assert (ae.events, ae.n) == (52, 351)
    assert ts.published("eoi_flow_negative").estimate == 0.775
    eoi = published("efs_by_eoi_mrd", study="AALL0232", subgroup="eoi_mrd_0.01-0.1%")
    assert eoi.id == "efs5_eoi_mrd_low_positive_aall0232"
    with pytest.raises(InputError, match="exactly one target"):
        published("dfs", arm="blinatumomab")  # several
    with pytest.raises(InputError, match="none"):
        published("dfs", arm="blinatumomab", time_years=7)
    with pytest.raises(TypeError, match="unknown target field"):
        ts.find("dfs", colour="red")


def test_published_for_run_carries_roles() -> None:
    out = published_for_run()
    assert out["dfs_3y"]["blinatumomab"] == {
        "id": "dfs3_all_blina",
        "estimate": 0.96,
        "se": 0.012,
        "role": "derived",
        "provenance": "published",
    }
    assert out["dfs_3y_by_stratum"]["SR-High"]["chemotherapy"]["role"] == "fitted"
    assert out["dfs_3y_by_stratum"]["SR-Average"]["blinatumomab"]["estimate"] == 0.975
    sepsis = out["ae_grade3plus"]["blinatumomab"]["sepsis"]
    assert (sepsis["events"], sepsis["n"], sepsis["role"]) == (52 + 57, 351 + 273, "closed_form")
    assert out["ae_grade3plus"]["chemotherapy"]["cytokine_release_syndrome"]["events"] == 0
    assert out["n_randomized"] == {
        "blinatumomab": {"id": "n_randomized_blina", "n": 718, "role": "input"},
        "chemotherapy": {"id": "n_randomized_chemo", "n": 722, "role": "input"},
    }
    assert set(out["roles"]) == set(out["sources"])
    assert "validation" not in set(out["roles"].values())
    # tables label roles; only held_out reads as a validation
    assert [r for r in ROLES if "validation" in role_label(r)] == ["held_out"]


def test_config_errors(toy_config: Path, tmp_path: Path) -> None:
    from conftest import write_config

    tmp_path = tmp_path / "variants"
    tmp_path.mkdir()
    with pytest.raises(InputError, match="every target with a summary listed"):
        load_config(write_config(tmp_path, hold_out=[]))
    with pytest.raises(InputError, match="toy_zzz"):
        load_config(write_config(tmp_path, hold_out=["toy_c", "toy_zzz"]))
    with pytest.raises(InputError, match="both in fit and hold_out"):
        load_config(write_config(tmp_path, hold_out=["toy_c", "toy_a"]))
    # the lists must agree with the roles
    with pytest.raises(InputError, match=r"only targets with role fitted.*held_out"):
        load_config(write_config(tmp_path, fit=["toy_a", "toy_b", "toy_c"], hold_out=[]))
    with pytest.raises(InputError, match="every target with role fitted"):
        load_config(write_config(tmp_path, fit=["toy_a"], hold_out=["toy_c"]))
    with pytest.raises(InputError, match="list both fit and hold_out, or neither"):
        load_config(write_config(tmp_path, fit=[], hold_out=["toy_c"]))
    with pytest.raises(InputError, match="walkers must be even"):
        load_config(write_config(tmp_path, sampler={"walkers": 7}))
    with pytest.raises(InputError, match="burn_in must be < steps"):
        load_config(write_config(tmp_path, sampler={"burn_in": 100}))
    assert load_config(toy_config).digest() == load_config(toy_config).digest()
    # without lists the roles choose, and the config hashes as if it had listed them
    by_role = load_config(write_config(tmp_path, fit=[], hold_out=[]))
    assert by_role.fit == ("toy_a", "toy_b")
    assert by_role.hold_out == ("toy_c",)
    assert by_role.digest() == load_config(toy_config).digest()


def test_every_target_file_has_roles_and_unique_ids() -> None:
    """Each file of data/targets loads; ids are unique across files; held out says why."""
    files = sorted(default_targets_path().parent.glob("*.yaml"))
    assert "other_studies.yaml" in [f.name for f in files]
    seen: set[str] = set()
    for f in files:
        for t in load_targets(f).targets:
            assert t.id not in seen, t.id
            seen.add(t.id)
    other = load_targets(default_targets_path().parent / "other_studies.yaml")
    for t in other.targets:
        assert t.role == "held_out"
        assert t.summary is not None  # each can be simulated
        assert t.role_note  # what it tests and how independent it is
        assert t.provenance == "published"
