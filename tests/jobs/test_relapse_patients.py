"""The relapse run's patients table holds the very children of its summary's milestones."""

import numpy as np
import pytest

from blinasim.jobs.relapse_patients import HORIZON_DAYS, randomized_patients
from blinasim.jobs.relapse_run import run_relapse_trial
from blinasim.model.after_relapse import AfterRelapseParams
from blinasim.model.after_relapse.trials import ARMS, RelapseTrial, predict
from blinasim.reports.folder import RELAPSE, open_folder
from blinasim.units import DAYS_PER_YEAR


@pytest.mark.parametrize("trial", ["20120215", "aall1331"])
def test_patients_match_the_summary(trial):
    spec = RelapseTrial.load(trial)
    ap = AfterRelapseParams.load()
    reps = 3
    s = predict(spec, replicates=reps, seed=4, ap=ap)
    p = randomized_patients(spec, replicates=reps, seed=4, ap=ap)
    for arm in ARMS:
        d = p[p["arm"] == arm]
        assert len(d) == reps * spec.n_per_arm[arm]
        assert s["hsct"][arm] == pytest.approx(np.isfinite(d["hsct_day"]).mean(), abs=1e-12)
    for m in s["milestones"]:
        d = p[p["arm"] == m["arm"]]
        col, ev = (
            ("os_days", "os_event")
            if m["endpoint"] == "os"
            else ("endpoint_days", "endpoint_event")
        )
        share = 1.0 - ((d[ev] == 1) & (d[col] <= m["years"] * DAYS_PER_YEAR)).mean()
        assert m["estimate"] == pytest.approx(share, abs=1e-12)
    assert (p["endpoint_days"] <= p["os_days"] + 1e-9).all()
    assert (p["os_days"] <= HORIZON_DAYS).all()
    dead = p["death_day"].notna()
    assert (p.loc[dead & (p["os_event"] == 1), "death_day"] <= HORIZON_DAYS).all()
    assert (p.loc[p["hsct_day"].notna(), "hsct_day"] > 0).all()


def test_run_writes_patients_and_report(tmp_path):
    r = run_relapse_trial("20120215", replicates=3, seed=2, out=tmp_path / "r")
    for name in ("summary.json", "manifest.json", "patients.parquet", "report.html"):
        assert (r.out / name).is_file()
    assert open_folder(r.out).kind == RELAPSE
    html = (r.out / "report.html").read_text(encoding="utf-8")
    assert "<h2>Event history</h2>" in html
    assert "no patients table" not in html
    assert html.count("data:image/png;base64,") == 3
