"""max_dose caps in the model's plan: chemotherapy intensity and blinatumomab infusions."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import yaml

from blinasim.cohort import sample_cohort
from blinasim.model import engine
from blinasim.model.arms import model_plans
from blinasim.model.chemo_effect import emax_ratio
from blinasim.model.engine import ModelParams
from blinasim.model.plan import arm_plan, reference_intensities, relative_intensity, schedule_for
from blinasim.protocol import load_protocol, load_protocol_data
from blinasim.protocol.doses import reference_child
from blinasim.protocol.loader import shipped_protocols

SHIPPED = yaml.safe_load(shipped_protocols()["aall1731"].read_text())


def _with_vincristine(dose: float, max_dose: float | None):
    doc = copy.deepcopy(SHIPPED)
    for d in doc["arms"]["FAV"]["phases"][0]["drugs"]:
        if d["drug"] == "vincristine":
            d["dose"] = dose
            if max_dose is None:
                d.pop("max_dose", None)
            else:
                d["max_dose"] = max_dose
    return load_protocol_data(doc)


def test_caps_enter_the_dose_intensity() -> None:
    ref_proto = load_protocol("aall1731")
    ref = reference_intensities([ref_proto.arm("A")])
    bsa = reference_child().bsa_m2
    uncapped = _with_vincristine(2.0, None).arm("FAV").phase("induction")
    capped = _with_vincristine(2.0, 1.0).arm("FAV").phase("induction")
    cp = ModelParams.from_parameters().chemo
    hi = relative_intensity(uncapped, ref, cp)
    lo = relative_intensity(capped, ref, cp)
    assert hi > lo
    # vincristine 2 mg/m2 capped at 1 mg: 1/bsa mg/m2 at the reference child, versus 1.5
    e_hi = float(emax_ratio(2.0 / 1.5, cp.x50_vinca))
    e_lo = float(emax_ratio(1.0 / bsa / 1.5, cp.x50_vinca))
    assert hi - lo == pytest.approx(cp.share_induction_vinca * (e_hi - e_lo))
    # the cap does not bind for the shipped dose at the reference child: nothing changes
    same = _with_vincristine(1.5, 2.0).arm("FAV").phase("induction")
    assert relative_intensity(same, ref) == pytest.approx(1.0)


def test_blinatumomab_cap_reaches_the_schedule_and_the_kill() -> None:
    proto = load_protocol("aall1731")
    plans = model_plans(proto)
    sched = schedule_for(plans["B"].phases, 3000.0, ModelParams.from_parameters().chemo)
    assert sched.blina_cap is not None
    on = sched.blina_dose > 0
    assert on.any()
    np.testing.assert_array_equal(sched.blina_cap[on], 28.0)  # µg/day, from the protocol
    assert np.isinf(sched.blina_cap[~on]).all()

    # a tiny cap leaves blinatumomab almost without effect: more relapses on arm B
    doc = copy.deepcopy(SHIPPED)
    blina = doc["arms"]["B"]["edits"][0]["phases"][0]["drugs"][0]
    assert blina["drug"] == "blinatumomab"
    blina["max_dose"] = 0.01
    tiny = load_protocol_data(doc)
    cohort = sample_cohort(3000, seed=11)
    a = engine.simulate(cohort, proto, arm="B", seed=5)
    b = engine.simulate(cohort, tiny, arm="B", seed=5)
    ra = np.isfinite(a.patients["relapse_day"].to_numpy(dtype=float)).sum()
    rb = np.isfinite(b.patients["relapse_day"].to_numpy(dtype=float)).sum()
    assert rb > ra


def test_plan_refuses_a_non_finite_intensity() -> None:
    import dataclasses

    proto = load_protocol("aall1731")
    ph = proto.arm("A").phase("induction")
    bad = dataclasses.replace(
        ph,
        drugs=tuple(
            dataclasses.replace(d, dose=math.inf) if d.drug == "dexamethasone" else d
            for d in ph.drugs
        ),
    )
    arm = dataclasses.replace(proto.arm("A"), phases=(bad, *proto.arm("A").phases[1:]))
    with pytest.raises(ValueError, match="non-finite dose intensity of dexamethasone"):
        arm_plan(arm, reference_intensities([proto.arm("A")]))
