"""User parameter files: load_parameter_file, strict keys, the `blinasim params` commands."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from blinasim.commands.params import app
from blinasim.config import ParameterSet, default_parameters_path
from blinasim.errors import ParameterError
from blinasim.model.parameters import known_parameters, load_parameter_file, load_parameters

runner = CliRunner()


def _write(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_shipped_file_has_exactly_the_consumers_keys() -> None:
    ps = ParameterSet.load()
    known = known_parameters()
    assert set(ps) == {f"{s}.{k}" for s, keys in known.items() for k in keys}


def test_partial_file_overrides_the_shipped_values(tmp_path: Path) -> None:
    p = _write(
        tmp_path,
        "pk:\n  omega_cl: 0.3\n"
        "chemo:\n  kill_maintenance_per_day: {value: 0.02, unit: 1/day,"
        " provenance: assumption, source: 'assumption: test'}\n",
    )
    ps = load_parameter_file(p)
    shipped = ParameterSet.load()
    assert len(ps) == len(shipped)
    assert ps.value("pk.omega_cl") == 0.3
    assert ps["pk.omega_cl"].unit == shipped["pk.omega_cl"].unit
    assert ps["pk.omega_cl"].provenance == "assumption"
    assert ps.value("chemo.kill_maintenance_per_day") == 0.02
    assert ps.value("pk.v_adult_l") == shipped.value("pk.v_adult_l")
    assert ps.origin == str(p)


def test_a_full_copy_of_the_shipped_file_loads(tmp_path: Path) -> None:
    p = _write(tmp_path, default_parameters_path().read_text(encoding="utf-8"))
    assert load_parameter_file(p).params == ParameterSet.load().params


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("pkk:\n  omega_cl: 0.3\n", r"pkk: expected a known section .*did you mean 'pk'"),
        ("pk:\n  omega_cll: 0.3\n", r"pk\.omega_cll: expected a parameter of pk .*'omega_cl'"),
        (
            "pk:\n  sub:\n    omega_cl: {value: 1, unit: x, provenance: published, source: abc}\n",
            r"pk\.sub: expected a parameter of pk",
        ),
        (
            "pk:\n  omega_cl: {value: 0.3, unit: SD of log CL, provenance: assumption,"
            " source: 'assumption: xyz', extra: 1}\n",
            r"pk\.omega_cl\.extra: expected extra",
        ),
        ("pk:\n  omega_cl: high\n", r"pk\.omega_cl: expected a number, got 'high'"),
        ("pk:\n  omega_cl: true\n", r"pk\.omega_cl: expected a number, got True"),
        ("cohort:\n  p_male: 1.5\n", r"cohort\.p_male: expected a number in \[0, 1\]"),
        ("chemo:\n  kill_maintenance_per_day: -0.1\n", r"expected a number >= 0 \(1/day\)"),
        ("pk:\n  omega_cl: .nan\n", r"pk\.omega_cl: expected a finite number"),
        ("pk:\n  omega_cl: .inf\n", r"pk\.omega_cl: expected a finite number"),
        (
            "pk:\n  omega_cl: {value: 0.3, unit: L/h, provenance: assumption, source: 'assumption: xyz'}\n",
            r"pk\.omega_cl\.unit: expected the unit of pk\.omega_cl",
        ),
        (
            "cohort:\n  subtype_probs_age_under_10: {foo: 1}\n",
            r"cohort\.subtype_probs_age_under_10\.foo: expected a key of",
        ),
        ("risk_groups:\n  hts_missing_is_indeterminate: 3\n", r"expected true or false, got 3"),
        ("risk_groups:\n  eoi_flow_positive_stratum: SR-Huge\n", r"eoi_flow_positive_stratum"),
        ("pk: {omega_cl: 0.3\n", r"line \d+: expected valid YAML"),
        ("pk:\n", r"pk: expected a non-empty mapping"),
        ("[1, 2]\n", r"expected a mapping of parameter sections"),
        ("", r"expected a mapping of parameter sections"),
        ("pk:\n  value: 1\n", r"pk\.value: expected a parameter of pk"),
    ],
)
def test_bad_user_files_give_one_line_errors(tmp_path: Path, text: str, match: str) -> None:
    p = _write(tmp_path, text)
    with pytest.raises(ParameterError, match=match) as info:
        load_parameter_file(p)
    msg = str(info.value)
    assert msg.startswith(str(p))
    assert "\n" not in msg


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"nope\.yaml: expected a readable YAML file"):
        load_parameter_file(tmp_path / "nope.yaml")


def test_unknown_section_in_a_full_parameter_file_is_refused(tmp_path: Path) -> None:
    text = default_parameters_path().read_text(encoding="utf-8")
    extra = "\nnew_section:\n  x: {value: 1, unit: '1', provenance: assumption, source: 'assumption: xyz'}\n"
    with pytest.raises(ParameterError, match=r"new_section: expected a known section"):
        load_parameters(_write(tmp_path, text + extra))


def test_cli_validate_and_show(tmp_path: Path) -> None:
    good = _write(tmp_path, "pk:\n  omega_cl: 0.3\ncohort:\n  p_male: 0.5\n", "good.yaml")
    r = runner.invoke(app, ["validate", str(good)], env={"COLUMNS": "300"})
    assert r.exit_code == 0, r.output
    assert f"{good}: ok (2 parameters)" in r.output
    bad = _write(tmp_path, "pk:\n  omega_cll: 0.3\n", "bad.yaml")
    r = runner.invoke(app, ["validate", str(bad)], env={"COLUMNS": "300"})
    assert r.exit_code == 2
    r = runner.invoke(app, ["show", "pk.omega_cl"], env={"COLUMNS": "300"})
    assert r.exit_code == 0, r.output
    assert "SD of log CL" in r.output
    r = runner.invoke(app, ["show", "pk", "--params", str(good)], env={"COLUMNS": "300"})
    assert r.exit_code == 0, r.output
    assert "0.3" in r.output
    r = runner.invoke(app, ["show", "nope"], env={"COLUMNS": "300"})
    assert r.exit_code == 2


def test_params_group_is_registered() -> None:
    from blinasim import _commands

    assert "params" in [name for name, _ in _commands.groups()]


# --- fuzz: every mutated user file loads or gives one ParameterError line -----------------

SHIPPED = yaml.safe_load(default_parameters_path().read_text(encoding="utf-8"))
KEYS = [(s, k) for s, body in SHIPPED.items() for k in body]

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**9), max_value=10**9),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10),
    st.lists(st.floats(allow_nan=False), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=3),
)


@st.composite
def user_docs(draw: st.DrawFn) -> dict[object, object]:
    doc: dict[object, object] = {}
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        section, key = draw(st.sampled_from(KEYS))
        leaf = SHIPPED[section][key]
        mode = draw(st.sampled_from(["bare", "junk", "leaf", "badkey", "badsection", "deep"]))
        body = doc.setdefault(section, {})
        assert isinstance(body, dict)
        if mode == "bare":
            body[key] = leaf["value"]
        elif mode == "junk":
            body[key] = draw(junk)
        elif mode == "leaf":
            new = dict(leaf)
            new[
                draw(st.sampled_from(["value", "unit", "provenance", "source", "prior", "other"]))
            ] = draw(junk)
            body[key] = new
        elif mode == "badkey":
            body[draw(st.text(min_size=1, max_size=8))] = leaf["value"]
        elif mode == "badsection":
            doc[draw(st.text(min_size=1, max_size=8))] = {key: leaf["value"]}
        else:
            body[key] = {"inner": dict(leaf)}
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=user_docs())
def test_fuzz_user_files(
    tmp_path_factory: pytest.TempPathFactory, doc: dict[object, object]
) -> None:
    p = tmp_path_factory.mktemp("fuzz") / "p.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True))
    try:
        ps = load_parameter_file(p)
    except ParameterError as exc:
        msg = str(exc)
        assert "\n" not in msg
        assert msg.startswith(str(p))
        return
    for key in ps:
        v = ps.value(key)
        if isinstance(v, float):
            assert math.isfinite(v)
