import json
from importlib import resources
from pathlib import Path

import pytest

from blinasim.errors import InputError
from blinasim.jobs.scenarios import compare_protocols, write_comparison

VARIANT = Path(
    str(
        resources.files("blinasim")
        / "protocol"
        / "protocols"
        / "examples"
        / "aall1731_three_cycles.yaml"
    )
)


@pytest.fixture(scope="module")
def cmp():
    return compare_protocols(["aall1731", VARIANT], n=3000, seed=4)


def test_same_children_on_every_arm(cmp):
    t = cmp.table.set_index("arm")
    # arms A and B of the variant file are the shipped ones: shown once
    assert "aall1731_three_cycles:A" not in t.index
    assert {
        "aall1731:A",
        "aall1731:B",
        "aall1731_three_cycles:B3",
        "aall1731_three_cycles:B5",
    } <= set(t.index)
    sr_avg = t[t["stratum"] == "SR-Average"]
    assert sr_avg["n"].nunique() == 1  # the same children on each SR-Average arm
    assert cmp.reference == {"SR-Average": "aall1731:A", "SR-High": "aall1731:C"}


def test_blinatumomab_dose_response_in_the_model(cmp):
    t = cmp.table.set_index("arm")
    # relapse: chemotherapy > 5 µg/m²/day > 15 µg/m²/day (2 cycles) >= 3 cycles
    assert t.loc["aall1731:A", "relapse"] > t.loc["aall1731_three_cycles:B5", "relapse"]
    assert t.loc["aall1731_three_cycles:B5", "relapse"] > t.loc["aall1731:B", "relapse"]
    assert t.loc["aall1731:B", "relapse"] >= t.loc["aall1731_three_cycles:B3", "relapse"]
    assert t.loc["aall1731:B", "paired_difference_3y"] > 0
    assert t.loc["aall1731:B", "paired_difference_3y_se"] < 0.02


def test_written_outputs(cmp, tmp_path):
    report = write_comparison(cmp, tmp_path)
    assert "not medical advice" in report.read_text()
    doc = json.loads((tmp_path / "comparison.json").read_text())
    assert doc["n_children"] == 3000
    assert (tmp_path / "comparison.csv").exists()


def test_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="at least 100 children"):
        compare_protocols(["aall1731"], n=10)
    bad = tmp_path / "v.yaml"
    bad.write_text("name: v\narms: {}\n")
    with pytest.raises(InputError, match=r"v\.yaml"):
        compare_protocols(["aall1731", bad], n=200)
