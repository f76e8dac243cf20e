"""``blinasim cea``: end to end on a small PSA, reproducibility, resume, user mistakes."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from blinasim.cohort.sample import screen_cohort
from blinasim.economics import base_values, evaluate, history_from_model, load_setting, tornado
from blinasim.errors import InputError
from blinasim.jobs.cea import CeaConfig, make_tasks, run_cea
from blinasim.jobs.cea_sim import (
    STRATEGIES,
    base_parameters,
    base_seed,
    experimental_arms,
    iteration_seed,
    protocol_for,
    simulate_histories,
    strategy_rows,
)
from blinasim.jobs.cea_tasks import BLOCK, run_task
from blinasim.model.engine import simulate
from blinasim.reports.render import render_folder

# 7 iterations: two PSA blocks (5 + 2) and the base case, so two workers share the work
CFG = CeaConfig(psa=7, n=400, seed=5)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return run_cea(CFG, tmp_path_factory.mktemp("cea"), workers=1, warn=lambda _l: None)


def test_summary_has_every_documented_key(finished):
    s = json.loads((finished.out_dir / "summary.json").read_text())
    for key in (
        "currency",
        "price_year",
        "discount_rate",
        "threshold",
        "per_arm",
        "incremental_costs",
        "incremental_qalys",
        "icer",
        "nmb",
        "prob_cost_effective",
        "evpi",
        "price_threshold",
        "disclaimer",
    ):
        assert key in s, key
    assert s["currency"] == "CAD"
    assert s["threshold"] == 50000.0
    for arm in STRATEGIES:
        for k in ("costs", "life_years", "qalys"):
            for suffix in ("", "_undiscounted"):
                iv = s["per_arm"][arm][k + suffix]
                assert set(iv) == {"estimate", "lower", "upper"}
                assert iv["lower"] <= iv["estimate"] <= iv["upper"]
    for k in ("incremental_costs", "incremental_qalys", "icer", "nmb"):
        assert {"estimate", "lower", "upper"} <= set(s[k])
    assert str(50000.0) in s["prob_cost_effective"]
    assert s["evpi"]["per_child"] >= 0
    assert "not medical advice" in s["disclaimer"]
    # undiscounted life-years exceed discounted ones; QALYs below life-years
    a = s["per_arm"]["chemotherapy"]
    assert a["life_years_undiscounted"]["estimate"] > a["life_years"]["estimate"]
    assert a["qalys"]["estimate"] < a["life_years"]["estimate"]


def test_psa_table_is_tidy_and_consistent(finished):
    psa = pd.read_parquet(finished.out_dir / "psa.parquet")
    assert len(psa) == 2 * CFG.psa
    assert sorted(psa["iteration"].unique()) == list(range(CFG.psa))
    assert set(psa["arm"]) == set(STRATEGIES)
    cats = [c for c in psa.columns if c.startswith("cost_") and not c.endswith("_undiscounted")]
    assert len(cats) >= 10
    assert (psa[cats].sum(axis=1) - psa["costs"]).abs().max() < 1e-6 * psa["costs"].max()
    chemo = psa[psa["arm"] == "chemotherapy"]
    # nobody gets blinatumomab on the chemotherapy arm in first line
    assert (chemo["on_blinatumomab"] == 0).all()
    assert (psa["children"] == CFG.n).all()
    inputs = pd.read_parquet(finished.out_dir / "inputs.parquet")
    assert len(inputs) == CFG.psa
    assert "blinatumomab.vial_price" in inputs.columns


def test_report_is_self_contained(finished):
    html = (finished.out_dir / "report.html").read_text()
    for text in ("CHEERS 2022", "Cost-effectiveness plane", "Acceptability", "Sensitivity"):
        assert text in html
    assert "not medical advice" in html
    assert 'src="http' not in html
    assert "<script" not in html
    assert html.count("data:image/png;base64,") >= 5
    man = json.loads((finished.out_dir / "manifest.json").read_text())
    assert man["kind"] == "cea"


def test_report_rerenders_identically(finished):
    assert render_folder(finished.out_dir) == (finished.out_dir / "report.html").read_text()


def test_two_workers_same_numbers(finished, tmp_path):
    run_cea(CFG, tmp_path, workers=2, report=False, warn=lambda _l: None)
    assert (tmp_path / "summary.json").read_bytes() == (
        finished.out_dir / "summary.json"
    ).read_bytes()
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "psa.parquet"), pd.read_parquet(finished.out_dir / "psa.parquet")
    )


def test_dask_same_numbers(finished, tmp_path):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        run_cea(CFG, tmp_path, scheduler=client, report=False, warn=lambda _l: None)
    assert (tmp_path / "summary.json").read_bytes() == (
        finished.out_dir / "summary.json"
    ).read_bytes()


def test_interrupted_run_resumes_to_the_same_numbers(finished, tmp_path):
    class Stop(Exception):
        pass

    def stop_after_first(done: int, total: int) -> None:
        if done == 1:
            raise Stop

    with pytest.raises(Stop):
        run_cea(CFG, tmp_path, workers=1, progress=stop_after_first, warn=lambda _l: None)
    assert len(list((tmp_path / "checkpoints").glob("*.done.json"))) == 1
    run_cea(CFG, tmp_path, workers=1, warn=lambda _l: None)
    for name in ("summary.json", "psa.parquet", "tornado.parquet", "profile.parquet"):
        assert (tmp_path / name).read_bytes() == (finished.out_dir / name).read_bytes(), name


def test_more_iterations_extend_the_same_folder(finished, tmp_path):
    """Iteration i does not depend on --psa: a longer PSA keeps the first iterations."""
    longer = CeaConfig(psa=CFG.psa + BLOCK, n=CFG.n, seed=CFG.seed)
    run_cea(longer, tmp_path, workers=1, report=False, warn=lambda _l: None)
    a = pd.read_parquet(tmp_path / "psa.parquet")
    b = pd.read_parquet(finished.out_dir / "psa.parquet")
    pd.testing.assert_frame_equal(a[a["iteration"] < CFG.psa].reset_index(drop=True), b)


def test_other_inputs_in_the_same_folder_are_refused(finished):
    with pytest.raises(InputError, match="made with other inputs"):
        run_cea(CeaConfig(psa=2, n=CFG.n, seed=6), finished.out_dir, workers=1)


def test_iteration_seeds_differ_and_are_stable():
    seeds = {iteration_seed(5, i) for i in range(50)}
    assert len(seeds) == 50
    assert iteration_seed(5, 3) == iteration_seed(5, 3)


def test_strategies_keep_each_child_once():
    pts = pd.DataFrame(
        {
            "patient_id": [0, 0, 1, 2, 2, 3],
            "arm": ["A", "B", "FAV", "C", "D", None],
            "randomization_day": [100.0, 100.0, float("nan"), float("nan"), float("nan"), 1.0],
        }
    )
    rows = strategy_rows(pts, ("B", "D"))
    assert list(rows["chemotherapy"]) == [0, 2, 3, 5]
    assert list(rows["blinatumomab"]) == [1, 2, 4, 5]
    rand = strategy_rows(pts, ("B", "D"), "randomization")
    assert list(rand["chemotherapy"]) == [0]
    assert list(rand["blinatumomab"]) == [1]


@pytest.mark.parametrize(
    ("cfg", "match"),
    [
        (CeaConfig(psa=0), "--psa: expected at least 1 PSA iteration"),
        (CeaConfig(n=0), "--n"),
        (CeaConfig(origin="relapse"), "--origin"),
        (CeaConfig(setting="mars"), "setting"),
        (CeaConfig(trial="aall0932"), "known trial"),
    ],
)
def test_bad_options_are_input_errors(cfg, match, tmp_path):
    with pytest.raises(InputError, match=match):
        run_cea(cfg, tmp_path / "o")
    assert not (tmp_path / "o").exists()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "blinasim", "cea", "aall1731", *args],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--psa", "0"), "--psa"),
        (("--setting", "nowhere"), "setting"),
        (("--origin", "relapse"), "--origin"),
    ],
)
def test_cli_mistakes_are_one_line_exit_2(args, needle, tmp_path):
    out = _cli(*args, "--out", str(tmp_path / "o"))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert needle in out.stderr


def test_cli_bad_setting_file_names_the_field(tmp_path):
    bad = tmp_path / "mine.yaml"
    bad.write_text("name: mine\ncurrency: euros\n")
    out = _cli("--setting", str(bad), "--out", str(tmp_path / "o"))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "mine.yaml" in out.stderr


def test_shared_rows_give_the_per_strategy_histories():
    """Building one history for every row, then splitting it, equals one per strategy."""
    ps = base_parameters()
    seed = iteration_seed(5, 0)
    children = simulate_histories(300, model_seed=seed, params=ps, origin="diagnosis")
    prot = protocol_for("aall1731")
    cohort = screen_cohort(300, seed=seed, params=ps).patients
    out = simulate(cohort, prot, params=ps, seed=seed)
    rows = strategy_rows(out.patients, experimental_arms(prot))
    values = base_values(load_setting("canada-2024"))
    for name in STRATEGIES:
        direct = history_from_model(
            out.patients.iloc[rows[name]],
            out.adverse_events,
            cohort,
            prot,
            seed=seed,
            horizon_days=out.horizon_days,
            params=ps,
        )
        a = evaluate(direct, values, per_child=True)
        b = evaluate(children.histories[name], values, per_child=True)
        assert a.per_child is not None
        assert b.per_child is not None
        for k in ("costs", "qalys", "life_years", "costs_undiscounted"):
            np.testing.assert_allclose(b.per_child[k], a.per_child[k], rtol=1e-12, atol=1e-9)
        assert b.costs_by_category == pytest.approx(a.costs_by_category, rel=1e-12)


def test_tornado_on_the_differing_children_equals_the_full_tornado():
    """Pricing only the children whose rows differ, scaled to all, is the full tornado."""
    cfg = CeaConfig(psa=1, n=300, seed=5)
    tasks, _ = make_tasks(cfg)
    got = run_task(tasks[0])["tornado"].set_index("input")
    children = simulate_histories(
        cfg.n, model_seed=base_seed(cfg.seed), params=base_parameters(), origin="diagnosis"
    )
    assert 0 < children.differs.size < cfg.n
    values = base_values(load_setting(cfg.setting))
    nmb0, rows = tornado(
        children.histories, values, comparator="chemotherapy", intervention="blinatumomab"
    )
    assert got["nmb_base"].iloc[0] == pytest.approx(nmb0, rel=1e-9)
    for r in rows:
        assert got.loc[r.input, "nmb_low"] == pytest.approx(r.nmb_low, rel=1e-9, abs=1e-6)
        assert got.loc[r.input, "nmb_high"] == pytest.approx(r.nmb_high, rel=1e-9, abs=1e-6)


def test_origin_randomization_prices_the_randomized_children_from_randomization(tmp_path):
    cfg = CeaConfig(psa=2, n=400, seed=5, origin="randomization")
    res = run_cea(cfg, tmp_path, workers=1, report=False, warn=lambda _l: None)
    psa = pd.read_parquet(tmp_path / "psa.parquet")
    kids = psa.pivot(index="iteration", columns="arm", values="children")
    assert (kids["chemotherapy"] == kids["blinatumomab"]).all()
    assert (kids["chemotherapy"] < cfg.n).all()
    assert (kids["chemotherapy"] > 0).all()
    # everyone priced from randomization gets blinatumomab on the blinatumomab arm
    blina = psa[psa["arm"] == "blinatumomab"]
    assert (blina["on_blinatumomab"] == blina["children"]).all()
    assert res.summary["origin"] == "randomization"
