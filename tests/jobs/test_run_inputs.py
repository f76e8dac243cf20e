"""A run's identity is its inputs' contents; its checkpoints are used only when trustworthy."""

import json
import shutil
import stat

import pandas as pd
import pytest

from blinasim.calibrate.ensemble import DEFAULT_NAME, shipped_dir
from blinasim.errors import InputError, OutputError
from blinasim.jobs import run as job
from blinasim.jobs.run import RunConfig, input_identity, run
from blinasim.protocol.loader import shipped_protocols

CFG = RunConfig(replicates=2, seed=11, posterior=None)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    run(CFG, out, workers=1, report=False)
    return out


def _copy_run(reference, tmp_path):
    dest = tmp_path / "run"
    shutil.copytree(reference, dest)
    return dest


def _rerun(out, warnings):
    run(CFG, out, workers=1, report=False, warn=warnings.append)
    return (out / "summary.json").read_bytes()


def test_files_are_0644_and_carry_no_machine_paths(reference):
    for f in [*reference.iterdir(), *(reference / "checkpoints").iterdir()]:
        if f.is_file():
            assert stat.S_IMODE(f.stat().st_mode) == 0o644, f
    for name in ("summary.json", "manifest.json"):
        text = (reference / name).read_text()
        assert str(reference) not in text
        for root in ("/home/", "/work/", "/root/"):
            assert root not in text


def test_protocol_contents_not_path(tmp_path):
    proto = tmp_path / "p.yaml"
    shutil.copy(shipped_protocols()["aall1731"], proto)
    cfg = RunConfig(replicates=1, seed=3, posterior=None, protocol=str(proto))
    before = input_identity(cfg)
    text = proto.read_text()
    assert "dose: 15" in text  # blinatumomab 15 ug/m2/day
    proto.write_text(text.replace("dose: 15", "dose: 10", 1))
    after = input_identity(cfg)
    assert before["protocol"] != after["protocol"]
    assert before["digest"] != after["digest"]
    assert {k for k in before if before[k] != after[k]} == {"protocol", "digest"}


def test_other_protocol_contents_in_the_same_folder_are_refused(tmp_path, monkeypatch):
    proto = tmp_path / "p.yaml"
    shutil.copy(shipped_protocols()["aall1731"], proto)
    out = tmp_path / "out"
    cfg = RunConfig(replicates=1, seed=3, posterior=None, protocol=str(proto))
    # bind the folder without simulating (the check happens before any simulation)
    monkeypatch.setattr(job, "stream_tasks", lambda *a, **k: (_ for _ in ()).throw(RuntimeError))
    with pytest.raises(RuntimeError):
        run(cfg, out, workers=1)
    proto.write_text(proto.read_text().replace("dose: 15", "dose: 10", 1))
    with pytest.raises(InputError, match=r"made with other inputs \(protocol differ\).*--fresh"):
        run(cfg, out, workers=1)


def test_posterior_and_parameter_contents(tmp_path, monkeypatch):
    src = shipped_dir() / f"{DEFAULT_NAME}.csv"
    csv = tmp_path / "posterior_x_v1.csv"
    shutil.copy(src, csv)
    shutil.copy(src.with_suffix(".json"), csv.with_suffix(".json"))
    cfg = RunConfig(replicates=1, posterior=str(csv))
    a = input_identity(cfg)
    lines = csv.read_text().splitlines()
    cells = lines[1].split(",")
    cells[1] = str(float(cells[1]) * 1.01)
    csv.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    b = input_identity(cfg)
    assert a["posterior"] != b["posterior"]
    # the parameter file, by contents
    import blinasim.config as config

    params = tmp_path / "parameters.yaml"
    shutil.copy(config.default_parameters_path(), params)
    base = input_identity(CFG)
    text = params.read_text()
    params.write_text(text.replace("value: 0.", "value: 0.0", 1))
    monkeypatch.setattr(config, "default_parameters_path", lambda: params)
    changed = input_identity(CFG)
    assert changed["parameters"] != base["parameters"]
    assert changed["design"] == base["design"]


def test_truncated_table_is_recomputed(reference, tmp_path):
    out = _copy_run(reference, tmp_path)
    f = out / "checkpoints" / "r00001.patients.parquet"
    f.write_bytes(f.read_bytes()[:100])
    warnings: list[str] = []
    assert _rerun(out, warnings) == (reference / "summary.json").read_bytes()
    assert len(warnings) == 1
    assert "r00001.done.json" in warnings[0]
    assert "does not match its checksum" in warnings[0]
    assert "\n" not in warnings[0]


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda b: b[: len(b) // 2], "unreadable or truncated"),
        (lambda b: b.replace(b'"decision"', b'"decisioN"'), "checksum mismatch"),
        (lambda b: b"[1, 2]", "not a blinasim replicate checkpoint"),
        (lambda b: b"\x80\x04\x95 pickle?", "unreadable or truncated"),
    ],
)
def test_corrupt_marker_is_recomputed(reference, tmp_path, damage, expected):
    out = _copy_run(reference, tmp_path)
    m = out / "checkpoints" / "r00000.done.json"
    m.write_bytes(damage(m.read_bytes()))
    warnings: list[str] = []
    assert _rerun(out, warnings) == (reference / "summary.json").read_bytes()
    assert len(warnings) == 1
    assert expected in warnings[0]


def test_swapped_checkpoint_is_recomputed(reference, tmp_path):
    out = _copy_run(reference, tmp_path)
    ck = out / "checkpoints"
    for name in ("done.json", "adtte.parquet", "patients.parquet", "looks.parquet"):
        shutil.copy(ck / f"r00000.{name}", ck / f"r00001.{name}")
    warnings: list[str] = []
    assert _rerun(out, warnings) == (reference / "summary.json").read_bytes()
    assert warnings == [
        f"warning: {ck / 'r00001.done.json'}: checkpoint of replicate 0 in the place of 1; "
        "recomputing replicate 1"
    ]


def test_foreign_checkpoint_is_recomputed(reference, tmp_path):
    other = tmp_path / "other"
    run(RunConfig(replicates=1, seed=12, posterior=None), other, workers=1, report=False)
    out = _copy_run(reference, tmp_path)
    for f in (other / "checkpoints").glob("r00000.*"):
        shutil.copy(f, out / "checkpoints" / f.name)
    warnings: list[str] = []
    assert _rerun(out, warnings) == (reference / "summary.json").read_bytes()
    assert len(warnings) == 1
    assert "checkpoint of a run with other inputs" in warnings[0]


def test_fresh_discards_and_recomputes(reference, tmp_path):
    out = _copy_run(reference, tmp_path)
    with pytest.raises(InputError, match="other inputs"):
        run(RunConfig(replicates=1, seed=99, posterior=None), out, workers=1, report=False)
    res = run(
        RunConfig(replicates=1, seed=99, posterior=None), out, workers=1, report=False, fresh=True
    )
    assert res.summary["run"]["config"]["seed"] == 99
    assert len(list((out / "checkpoints").glob("*.done.json"))) == 1


def test_folder_of_another_job_is_refused(tmp_path):
    out = tmp_path / "x"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"kind": "comparison"}))
    with pytest.raises(InputError, match="holds another job's results"):
        run(CFG, out, workers=1)


@pytest.mark.parametrize("kind", ["file", "devnull", "readonly"])
def test_bad_out_is_one_line(tmp_path, monkeypatch, kind):
    if kind == "file":
        out = tmp_path / "f"
        out.write_text("x")
    elif kind == "devnull":
        out = "/dev/null"
    else:  # a read-only folder (root ignores permission bits, so the refusal is injected)
        import errno

        from blinasim.io import outdir

        def denied(**_kw):
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr(outdir.tempfile, "mkstemp", denied)
        out = tmp_path / "ro"
    with pytest.raises(InputError, match="--out") as err:
        run(CFG, out, workers=1)
    if kind == "readonly":
        assert "a writable folder (Permission denied)" in str(err.value)


def test_disk_full_is_one_line_and_resumes(reference, tmp_path, monkeypatch):
    """An injected ENOSPC on the second checkpoint write: one line, then a clean resume."""
    import errno

    from blinasim.jobs import store

    real = store.atomic_write_bytes
    calls = {"n": 0}

    def full(path, data):
        calls["n"] += 1
        if calls["n"] == 5:  # replicate 1's first table (replicate 0 wrote 3 + its marker)
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)

    monkeypatch.setattr(store, "atomic_write_bytes", full)
    out = tmp_path / "full"
    with pytest.raises(OutputError) as err:
        run(CFG, out, workers=1, report=False)
    msg = str(err.value)
    assert "No space left on device" in msg
    assert "1 of 2 simulated trials are saved" in msg
    assert "\n" not in msg
    assert not list((out / "checkpoints").glob(".tmp-*"))
    monkeypatch.setattr(store, "atomic_write_bytes", real)
    run(CFG, out, workers=1, report=False)
    assert (out / "summary.json").read_bytes() == (reference / "summary.json").read_bytes()
    assert (out / "adtte.parquet").read_bytes() == (reference / "adtte.parquet").read_bytes()
    assert pd.read_parquet(out / "estimates.parquet").shape[0] == 2


def test_params_file_is_an_input(tmp_path):
    from blinasim.jobs.simulate import parameter_set

    f = tmp_path / "p.yaml"
    f.write_text("pk:\n  omega_cl: 0.5\n")
    cfg = RunConfig(replicates=1, seed=3, posterior=None, params=str(f))
    assert input_identity(cfg)["parameters"] != input_identity(CFG)["parameters"]
    assert parameter_set(None, 0, str(f))["pk.omega_cl"].value == 0.5
    drawn = parameter_set((("pk.omega_cl", 0.25),), 4, str(f))
    assert drawn["pk.omega_cl"].value == 0.25  # a posterior draw replaces the file's value
    f.write_text("pk:\n  omega_cll: 0.5\n")
    with pytest.raises(InputError, match=r"p.yaml: pk.omega_cll: .*did you mean 'omega_cl'"):
        run(cfg, tmp_path / "out", workers=1)


def test_replicate_estimates_round_trip_through_their_checkpoint(reference):
    """The typed estimates a resumed run reads back equal the ones the worker made."""
    from blinasim.jobs.store import ReplicateStore
    from blinasim.jobs.summary import ReplicateEstimates

    ident = json.loads((reference / "checkpoints" / "config.json").read_text())["digest"]
    store = ReplicateStore(reference / "checkpoints", ident, warn=lambda _line: None)
    est = store.load(0)["estimates"]
    assert isinstance(est, ReplicateEstimates)
    assert ReplicateEstimates.from_json(est.to_json()) == est or est.to_json() == (
        ReplicateEstimates.from_json(est.to_json()).to_json()
    )
    assert est.replicate == 0
    assert 0.5 < est.dfs_3y["chemotherapy"].estimate < 1.0
    row = pd.read_parquet(reference / "estimates.parquet").iloc[0]
    assert row["dfs_3y.chemotherapy"] == est.dfs_3y["chemotherapy"].estimate
