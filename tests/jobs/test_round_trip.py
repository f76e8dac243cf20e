"""A simulated trial exported to ADaM ADTTE and re-analysed gives the same numbers."""

import pyreadstat
import pytest

from blinasim.analysis.run import analyze_file
from blinasim.jobs.simulate import ReplicateTask, run_replicate
from blinasim.jobs.summary import replicate_estimates


@pytest.fixture(scope="module")
def trial():
    return run_replicate(ReplicateTask("aall1731", None, 2, 0, None, 0))


@pytest.mark.parametrize("fmt", ["xpt5", "xpt8", "csv", "parquet"])
def test_export_and_reanalyse(trial, tmp_path, fmt):
    est = replicate_estimates(trial)
    adtte = trial.adtte.drop(columns=["REPLICATE", "STARTDT", "ADT", "RANDDT"])
    if fmt.startswith("xpt"):
        path = tmp_path / "adtte.xpt"
        pyreadstat.write_xport(
            adtte, str(path), file_format_version=int(fmt[-1]), table_name="ADTTE"
        )
    elif fmt == "csv":
        path = tmp_path / "adtte.csv"
        adtte.to_csv(path, index=False)
    else:
        path = tmp_path / "adtte.parquet"
        adtte.to_parquet(path)
    run = analyze_file(path, out_dir=tmp_path / "out", params=["DFS", "OS"], control="chemotherapy")
    dfs = run.analyses[0]
    assert dfs.paramcd == "DFS"
    for arm in ("blinatumomab", "chemotherapy"):
        assert dfs.arm(arm).milestone.estimate == pytest.approx(est.dfs_3y[arm].estimate, rel=1e-12)
        assert dfs.arm(arm).milestone.se == pytest.approx(est.dfs_3y[arm].se, rel=1e-12)
    assert dfs.hazard_ratio.estimate == pytest.approx(est.hazard_ratio_dfs.estimate, rel=1e-10)
    assert dfs.logrank_p == pytest.approx(est.logrank_p_stratified, rel=1e-10)
    assert dfs.rmst_difference.estimate == pytest.approx(
        est.rmst_difference_days.estimate, rel=1e-10
    )
    assert run.analyses[1].arm("chemotherapy").milestone.estimate == pytest.approx(
        est.os_3y["chemotherapy"].estimate, rel=1e-12
    )
