from pathlib import Path

import numpy as np
import pytest
import yaml

from blinasim.economics import SHIPPED, base_values, bounds, draw_values, load_setting, quantities
from blinasim.economics.setting import currency_of, shipped_settings
from blinasim.errors import InputError


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_setting_loads_and_every_value_has_a_source(name):
    s = load_setting(name)
    assert s.name == name
    qs = quantities(s)
    assert len(qs) > 50
    for path, q in qs.items():
        assert len(q.source.strip()) > 10, path
        assert q.unit.strip(), path
        if currency_of(q) is not None:
            assert currency_of(q) == s.currency, path
            assert q.year is not None, path
    v = base_values(s)
    assert all(np.isfinite(x) for x in v.values())
    for path, (lo, hi) in bounds(s).items():
        assert lo <= v[path] <= hi, path


def test_shipped_names_are_the_files():
    assert set(SHIPPED) <= set(shipped_settings())


def test_draws_are_reproducible_and_in_range():
    s = load_setting("canada-2024")
    a, b = draw_values(s, 7, 3), draw_values(s, 7, 3)
    assert dict(a) == dict(b)
    assert dict(draw_values(s, 7, 4)) != dict(a)
    qs = quantities(s)
    for i in range(20):
        d = draw_values(s, 11, i)
        for k, q in qs.items():
            if q.distribution == "beta":
                assert 0 < d[k] < 1
            if q.distribution in ("gamma", "lognormal"):
                assert d[k] > 0
            if q.distribution == "fixed":
                assert d[k] == base_values(s)[k]


def test_price_index_converts_costs():
    s = load_setting("canada-2024")
    v = base_values(s)
    assert v["blinatumomab.inpatient_cost_per_day"] == pytest.approx(2130.85 * 1.21)
    assert v["blinatumomab.vial_price"] == pytest.approx(2978.26)


def _doc():
    return yaml.safe_load(shipped_settings()["canada-2024"].read_text(encoding="utf-8"))


def _write(tmp_path: Path, doc) -> Path:
    p = tmp_path / "mine.yaml"
    p.write_text(
        yaml.safe_dump(doc, allow_unicode=True) if not isinstance(doc, str) else doc,
        encoding="utf-8",
    )
    return p


def _break(doc, path, value):
    d = doc
    keys = path.split(".")
    for k in keys[:-1]:
        d = d[int(k) if k.isdigit() else k]
    if value is KeyError:
        del d[keys[-1]]
    else:
        d[keys[-1]] = value
    return doc


_Q = {"value": 1.0, "unit": "CAD per year", "year": 2024, "source": "assumption: a test"}
GILLS = {"cost": _Q, "per_year": _Q, "disutility": {**_Q, "unit": "utility per year"}}


@pytest.mark.parametrize(
    ("path", "value", "field", "expected"),
    [
        ("colour", "blue", "colour", "no unknown field"),
        ("blinatumomab.vial_prize", {"value": 1}, "blinatumomab.vial_prize", "no unknown field"),
        ("blinatumomab.vial_price", KeyError, "blinatumomab.vial_price", "required"),
        ("utilities.off_therapy.value", 1.2, "utilities.off_therapy", "(0, 1)"),
        ("relapse.hsct.se", None, "relapse.hsct", "standard error"),
        ("relapse.hsct.value", -5, "relapse.hsct", "positive"),
        ("relapse.hsct.unit", "GBP per transplant", "relapse.hsct.unit", "currency CAD"),
        ("relapse.hsct.year", 1999, "relapse.hsct.year", "price_index"),
        ("relapse.hsct.source", "", "relapse.hsct.source", "at least 3"),
        ("discount.costs.value", 1.5, "discount.costs.value", "rate"),
        ("currency", "dollars", "currency", "pattern"),
        ("chemotherapy.maintenance", KeyError, "chemotherapy", "every phase kind"),
        (
            "blinatumomab.vial_price.distribution",
            "weibull",
            "blinatumomab.vial_price.distribution",
            "gamma",
        ),
        ("blinatumomab.vial_price.range", [1, 2], "blinatumomab.vial_price", "range"),
        ("threshold.ceac.from", 300000, "threshold.ceac", "'to' above 'from'"),
        ("threshold.alternatives", [30000, -1], "threshold.alternatives", "positive"),
        ("late_effects.effects.gills", GILLS, "late_effects.effects", "late effect"),
        ("population.unit", "", "population.unit", "at least 1"),
    ],
)
def test_bad_setting_files_give_one_clear_line(tmp_path, path, value, field, expected):
    p = _write(tmp_path, _break(_doc(), path, value))
    with pytest.raises(InputError) as e:
        load_setting(str(p))
    msg = str(e.value)
    assert "\n" not in msg
    assert str(p) in msg
    assert field in msg
    assert expected in msg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "mapping"),
        ("a: 1\na: 2\n", "duplicate"),
        ("a: [1,\n", "valid YAML"),
    ],
)
def test_bad_yaml_is_one_line(tmp_path, text, expected):
    p = _write(tmp_path, text)
    with pytest.raises(InputError, match=expected) as e:
        load_setting(p)
    assert "\n" not in str(e.value)
    assert str(p) in str(e.value)


def test_unknown_name_or_missing_file():
    with pytest.raises(InputError, match="canada-2024"):
        load_setting("narnia")
    with pytest.raises(InputError, match="existing setting file"):
        load_setting("/nowhere/setting.yaml")


def test_vectorized_draws_equal_each_inputs_inverse_cdf():
    from blinasim import rng
    from blinasim.economics.values import PSA_STREAM, _factor, _ppf

    s = load_setting("uk-nice")
    qs = quantities(s)
    names = sorted(qs)
    for it in (0, 3):
        u = rng.generator(9, PSA_STREAM, it).random(len(names))
        d = draw_values(s, 9, it)
        for k, ui in zip(names, u, strict=True):
            assert d[k] == pytest.approx(_ppf(qs[k], float(ui)) * _factor(s, qs[k]), rel=1e-12)
