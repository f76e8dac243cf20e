"""``blinasim validate`` on a toy posterior and simulator: intervals, roles, JSON, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blinasim.calibrate.config import load_config
from blinasim.calibrate.ensemble import PosteriorEnsemble, save_posterior
from blinasim.calibrate.targets import load_targets
from blinasim.cli import main
from blinasim.errors import InputError
from blinasim.jobs import validate as job
from blinasim.jobs.whatif import COMPARISONS, Effect, WhatIfReport, WhatIfResult
from blinasim.reports.render import render_folder
from blinasim.reports.validate import render_validation

HERE = Path(__file__).parent
TOY_TARGETS = HERE / "validate_toy_targets.yaml"


def toy_posterior(folder: Path, n: int = 12, *, fit: tuple[str, ...] = ("toy_fit",)) -> Path:
    """A posterior of ``n`` draws with a sidecar naming the toy simulator and targets."""
    keys = tuple(load_config().free_parameters[:2])
    g = np.random.default_rng(3)
    draws = pd.DataFrame(
        {"draw": np.arange(n), keys[0]: 0.5 + 0.1 * g.standard_normal(n), keys[1]: 0.5}
    )
    draws[keys[1]] = 0.5 + 0.1 * g.standard_normal(n)
    draws["log_posterior"] = 0.0
    config = {
        "name": "toyval",
        "version": 1,
        "seed": 7,
        "targets_file": str(TOY_TARGETS),
        "fit": list(fit),
        "hold_out": [],
        "free_parameters": list(keys),
        "simulation": {"simulator": "validate_toy_sim:ValidateToySimulator", "n_patients": 400},
        "ensemble_size": n,
    }
    meta = {
        "name": "toyval",
        "version": 1,
        "free_parameters": list(keys),
        "fit_targets": list(fit),
        "config": config,
    }
    return save_posterior(PosteriorEnsemble(draws=draws, keys=keys, meta=meta), folder)


@pytest.fixture
def posterior(tmp_path: Path) -> Path:
    return toy_posterior(tmp_path / "post")


def test_rows_roles_and_inside_from_the_interval(posterior: Path) -> None:
    res = job.validate(job.ValidateConfig(posterior=str(posterior)), workers=1)
    rows = {r.id: r for r in res.rows}
    # every target of the file is listed, in file order, none dropped
    assert [r.id for r in res.rows] == list(load_targets(TOY_TARGETS).ids())
    assert rows["toy_held_in"].inside is True
    assert rows["toy_held_miss"].inside is False
    for r in res.rows:
        if r.predicted is not None:  # inside is exactly: published estimate in the interval
            p = r.predicted
            assert r.inside == (p.lower <= r.published.estimate <= p.upper)
            assert p.lower <= p.upper
            assert r.model is not None
            assert r.model.lower <= r.model.upper
    # targets without a simulated counterpart are listed as not simulated
    for tid in ("toy_closed", "toy_input"):
        assert rows[tid].predicted is None
        assert rows[tid].inside is None
        assert "not simulated" in rows[tid].note
    # published interval: the CI or estimate ± 1.96 SE
    pub = rows["toy_held_miss"].published
    assert (pub.lower, pub.upper) == pytest.approx((0.9 - 1.96 * 0.01, 0.9 + 1.96 * 0.01))
    # counts per role; only held out is validation
    s = res.summary
    assert (s["held_out"].n, s["held_out"].simulated, s["held_out"].inside) == (2, 2, 1)
    assert (s["fitted"].n, s["fitted"].simulated) == (1, 1)
    assert (s["closed_form"].n, s["closed_form"].simulated, s["closed_form"].inside) == (1, 0, 0)
    lines = job.summary_lines(s)
    assert lines[0] == "held out: 1 of 2 inside <- validation"
    assert "closed form: 0 of 0 inside (1 not simulated) (not validation)" in lines


def test_a_target_the_posterior_fitted_is_reported_as_fitted(tmp_path: Path) -> None:
    """A held-out target in the file that this posterior was fitted to is not validation."""
    post = toy_posterior(tmp_path, fit=("toy_fit", "toy_held_in"))
    res = job.validate(job.ValidateConfig(posterior=str(post)), workers=1)
    row = {r.id: r for r in res.rows}["toy_held_in"]
    assert row.role == "fitted"
    assert "role in the target file: held_out" in row.note
    assert res.summary["held_out"].n == 1


def test_inside_follows_the_interval_edges() -> None:
    """build_rows: a published value just outside the predictive interval is outside."""
    ts = load_targets(TOY_TARGETS).targets
    n = 200
    vals = np.full((n, len(ts)), np.nan)
    mcse = np.zeros_like(vals)
    j = [t.id for t in ts].index("toy_held_in")
    vals[:, j] = 0.20
    rows = job.build_rows(ts, {"toy_fit"}, vals, mcse, seed=1)
    r = rows[j]
    assert r.inside is True
    assert r.predicted is not None
    assert r.predicted.lower < 0.20 < r.predicted.upper
    vals[:, j] = 0.20 + 6 * 0.03  # six published SEs away: outside
    assert job.build_rows(ts, {"toy_fit"}, vals, mcse, seed=1)[j].inside is False
    # a target whose draws all failed is "not simulated", not "outside"
    vals[:, j] = np.nan
    r = job.build_rows(ts, {"toy_fit"}, vals, mcse, seed=1)[j]
    assert (r.predicted, r.inside) == (None, None)
    assert "not simulated" in r.note


def test_json_schema_and_files(posterior: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as ex:
        main(
            [
                "validate",
                "--posterior",
                str(posterior),
                "--json",
                "--workers",
                "1",
                "--out",
                str(out),
                "--no-whatif",
            ]
        )
    assert ex.value.code in (0, None)
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"model_version", "posterior", "disclaimer", "targets", "summary", "whatif"}
    assert "not medical advice" in doc["disclaimer"]
    assert isinstance(doc["whatif"], list)
    for t in doc["targets"]:
        assert set(t) >= {
            "id",
            "role",
            "study",
            "quantity",
            "published",
            "predicted",
            "inside",
            "note",
        }
        assert set(t["published"]) == {"estimate", "lower", "upper"}
        assert t["predicted"] is None or set(t["predicted"]) == {"estimate", "lower", "upper"}
        assert t["inside"] is None or isinstance(t["inside"], bool)
        assert (t["predicted"] is None) == (t["inside"] is None)
    assert doc["summary"]["held_out"] == {"n": 2, "simulated": 2, "inside": 1}
    assert set(doc["summary"]) <= {"fitted", "held_out", "derived", "closed_form", "input"}
    # --out: the same document and an HTML page rendered from it
    assert json.loads((out / "validate.json").read_text())["targets"] == doc["targets"]
    html = (out / "report.html").read_text()
    assert "toy_held_miss" in html
    assert "not medical advice" in html
    assert render_validation(out) == html
    # `blinasim report DIR` recognises a validation folder and re-renders it identically
    assert render_folder(out) == html


def test_terminal_table(posterior: Path, capsys) -> None:
    with pytest.raises(SystemExit) as ex:
        main(["validate", "--posterior", str(posterior), "--workers", "1", "--no-whatif"])
    assert ex.value.code in (0, None)
    text = " ".join(capsys.readouterr().out.split())
    assert "held out: 1 of 2 inside" in text
    assert "not simulated" in text
    assert "Only held-out targets count as validation" in text


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--posterior", "/no/such/posterior.csv"], "posterior"),
        (["--draws", "0"], "--draws"),
        (["--n", "5"], "--n"),
        (["--workers", "0"], "--workers"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], words: str, capsys, posterior) -> None:
    if "--posterior" not in args:
        args = ["--posterior", str(posterior), *args]
    with pytest.raises(SystemExit) as ex:
        main(["validate", "--no-whatif", *args])
    assert ex.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:")
    assert words in err
    assert len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_same_numbers_whatever_the_workers(posterior: Path) -> None:
    a = job.validate(job.ValidateConfig(posterior=str(posterior), draws=10, seed=4), workers=1)
    b = job.validate(job.ValidateConfig(posterior=str(posterior), draws=10, seed=4), workers=2)
    assert a.rows == b.rows


def test_checkpoint_resume_and_a_corrupt_checkpoint(posterior: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    cfg = job.ValidateConfig(posterior=str(posterior))
    first = job.validate(cfg, workers=1, out_dir=out)
    assert (out / job.CHECKPOINT).exists()
    seen: list[tuple[int, int]] = []
    again = job.validate(cfg, workers=1, out_dir=out, on_progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (12, 12)  # everything came from the checkpoint
    assert again.rows == first.rows
    (out / job.CHECKPOINT).write_bytes(b"not an archive")
    warned: list[str] = []
    third = job.validate(cfg, workers=1, out_dir=out, warn=warned.append)
    assert third.rows == first.rows
    assert warned
    assert "ignoring" in warned[0]
    # another seed: the old checkpoint is not reused
    other = job.validate(
        job.ValidateConfig(posterior=str(posterior), seed=9),
        workers=1,
        out_dir=out,
        warn=warned.append,
    )
    assert "other inputs" in warned[-1]
    assert other.summary["held_out"].n == 2


def test_config_checks() -> None:
    with pytest.raises(InputError, match="--draws"):
        job.ValidateConfig(draws=0)
    with pytest.raises(InputError, match="--n"):
        job.ValidateConfig(n_patients=3)


def test_every_shipped_target_file_is_read_and_ids_are_unique(tmp_path: Path) -> None:
    files = job.shipped_target_files()
    assert files
    assert all(f.suffix == ".yaml" for f in files)
    ts = job.load_all_targets(files)
    assert len({t.id for t in ts}) == len(ts)
    dup = tmp_path / "dup.yaml"
    dup.write_text(TOY_TARGETS.read_text())
    with pytest.raises(InputError, match="unique across target files"):
        job.load_all_targets([TOY_TARGETS, dup])


def test_whatif_rows_are_carried(posterior: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    """The what-if job's comparisons (called, not reimplemented) land in the document."""
    calls: list[dict[str, object]] = []

    def fake(n: int, **kw: object) -> WhatIfReport:
        calls.append({"n": n, **kw})
        res = tuple(
            WhatIfResult(
                id=c.id,
                description=c.description,
                population=c.population,
                endpoint=c.endpoint,
                years=c.years,
                published=Effect(0.04, 0.01, 0.07),
                predicted=Effect(0.05 if i else 0.2, 0.0, 0.3),
                hit=bool(i),
                published_control=0.8,
                published_experimental=0.84,
                predicted_control=0.8,
                predicted_experimental=0.85,
                n_children=n,
            )
            for i, c in enumerate(COMPARISONS)
        )
        return WhatIfReport(res, n=n, seed=int(str(kw["seed"])), parameters="toy", draws=2)

    monkeypatch.setattr(job, "run_whatif", fake)
    res = job.validate(
        job.ValidateConfig(posterior=str(posterior), draws=3), workers=1, whatif=True
    )
    assert calls == [{"n": 400, "seed": 1, "posterior": str(posterior), "draws": 1}]
    assert [job.whatif_draws(d) for d in (1, 20, 200, 1000)] == [1, 2, 20, 20]
    doc = res.document()
    assert [w["id"] for w in doc["whatif"]] == [c.id for c in COMPARISONS]
    assert doc["whatif"][0]["hit"] is False
    assert set(doc["whatif"][0]["predicted"]) == {"estimate", "lower", "upper"}
    n = len(COMPARISONS)
    assert doc["whatif_note"].startswith(f"what-if (held out, never fitted): {n - 1} of {n}")
    assert doc["summary_lines"][-1] == doc["whatif_note"]
    out = tmp_path / "w"
    job.write_outputs(res, out)
    assert "What-if backbone comparisons" in render_validation(out)


@pytest.mark.slow
def test_the_shipped_posterior_through_the_model() -> None:
    """The real path: the calibration's simulator and summaries on two draws."""
    cfg = job.ValidateConfig(draws=2, n_patients=600, seed=3)
    res = job.validate(cfg, workers=1)
    assert job.validate(cfg, workers=2).rows == res.rows  # the model's numbers too
    ids = {r.id for r in res.rows}
    assert {"dfs3_avg_blina", "efs5_aall0932", "n_randomized_blina"} <= ids
    rows = {r.id: r for r in res.rows}
    assert rows["dfs3_avg_blina"].predicted is not None
    assert rows["n_randomized_blina"].predicted is None  # an input without a counterpart
    assert res.summary["held_out"].n >= 1


def test_summary_lines_name_what_is_not_simulated() -> None:
    lines = job.summary_lines(
        {"held_out": job.RoleCount(11, 2, 1, 8), "input": job.RoleCount(2, 0, 0)}
    )
    assert lines == [
        "held out: 1 of 2 inside (8 predicted as what-if pairs, 1 not simulated) <- validation",
        "input: 0 of 0 inside (2 not simulated) (not validation)",
    ]
    # the backbone targets are the what-if job's pairs
    assert {"aall0232_efs5_hd_mtx", "aall0232_efs5_c_mtx"} <= job.WHATIF_TARGETS
