"""The web app's parts on their own: scenarios as protocols, bounds, files, charts, forms."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import pytest
import yaml

from blinasim.errors import InputError
from blinasim.jobs.scenarios import compare_protocols
from blinasim.protocol import load_protocol_data
from blinasim.web.aid import icon_groups, with_extra
from blinasim.web.charts import IconGroup, Series, curves_svg, icon_array_svg
from blinasim.web.explorer import Scenario, parse_scenario, variant_protocol
from blinasim.web.folders import find_file, list_runs
from blinasim.web.forms import FormError, parse_facts
from blinasim.web.work import Busy, ExplorerJobs, ModelPool


def blina_phases(s: Scenario) -> list[tuple[str, int, float]]:
    prot = load_protocol_data(variant_protocol(s))
    return [
        (p.name, p.start_day, d.dose)
        for p in prot.arm("V").phases
        for d in p.drugs
        if d.drug == "blinatumomab"
    ]


def test_the_aall1731_schedule_as_a_scenario_is_arm_b_phase_for_phase() -> None:
    prot = load_protocol_data(variant_protocol(Scenario("SR-Average", 2, 15.0, "spread")))
    v, b = prot.arm("V"), prot.arm("B")
    assert [(p.kind, p.start_day, p.end_day) for p in v.phases] == [
        (p.kind, p.start_day, p.end_day) for p in b.phases
    ]
    assert [p.drugs for p in v.phases] == [p.drugs for p in b.phases]


def test_the_aall1731_schedule_as_a_scenario_gives_arm_b_outcomes(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump(variant_protocol(Scenario("SR-High", 2, 15.0, "spread"))))
    pts = compare_protocols([path], n=1500, seed=3).patients
    v = pts[pts["arm"] == "V"].set_index("patient_id")[["dfs_days", "dfs_event"]]
    d = pts[pts["arm"] == "D"].set_index("patient_id")[["dfs_days", "dfs_event"]]
    assert len(v) > 100
    assert v.equals(d)


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        (Scenario("SR-Average", 1, 5.0, "spread"), 1),
        (Scenario("SR-Average", 3, 28.0, "spread"), 3),
        (Scenario("SR-High", 3, 10.0, "early"), 3),
        (Scenario("SR-High", 2, 15.0, "late"), 2),
    ],
)
def test_scenarios_have_their_cycles_doses_and_places(s: Scenario, expected: int) -> None:
    phases = blina_phases(s)
    assert len(phases) == expected
    assert {dose for _, _, dose in phases} == {s.dose_ug_per_m2_day}
    prot = load_protocol_data(variant_protocol(s))
    arm = prot.arm("V")
    starts = {p.name: p.start_day for p in arm.phases}
    first_blina = min(day for _, day, _ in phases)
    if s.placement == "late":
        assert first_blina > starts["DI"]
    else:
        standard = "B" if s.stratum == "SR-Average" else "D"
        assert first_blina == prot.arm(standard).phase("blina1").start_day
    if s.placement == "early" and expected > 1:
        days = sorted(day for _, day, _ in phases)
        assert all(b - a == 35 for a, b in itertools.pairwise(days))


@pytest.mark.parametrize(
    "form",
    [
        {"stratum": "SR-Average", "cycles": "2", "dose": "15", "placement": "spread", "x": "1"},
        {"stratum": "SR-Average", "cycles": "0", "dose": "15", "placement": "spread"},
        {"stratum": "SR-Average", "cycles": "2", "dose": "inf", "placement": "spread"},
        {"stratum": "SR-Average", "cycles": "2", "dose": "28.1", "placement": "spread"},
    ],
)
def test_scenario_forms_outside_the_bounds_are_refused(form: dict[str, str]) -> None:
    with pytest.raises(InputError):
        parse_scenario(form)


def test_scenario_key_is_stable_and_dose_rounded() -> None:
    a = parse_scenario({"stratum": "SR-High", "cycles": "1", "dose": "12.04", "placement": "late"})
    b = parse_scenario({"stratum": "SR-High", "cycles": "1", "dose": "12.0", "placement": "late"})
    assert a == b
    assert a.key == b.key


def test_model_pool_refuses_work_beyond_its_queue() -> None:
    pool = ModelPool(1, max_waiting=1, timeout_s=30)
    release = threading.Event()
    started = threading.Event()

    def block() -> int:
        started.set()
        release.wait(10)
        return 1

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(pool.run_blocking(block)))]
    threads[0].start()
    started.wait(5)
    threads.append(threading.Thread(target=lambda: results.append(pool.run_blocking(lambda: 2))))
    threads[1].start()
    deadline = time.monotonic() + 5
    while pool.queued < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(Busy, match="busy"):
        pool.run_blocking(lambda: 3)
    release.set()
    for t in threads:
        t.join(10)
    assert sorted(results) == [1, 2]
    assert pool.queued == 0
    pool.shutdown()


def test_model_pool_times_out() -> None:
    pool = ModelPool(1, max_waiting=1, timeout_s=0.2)
    with pytest.raises(Busy, match="more than"):
        pool.run_blocking(lambda: time.sleep(1.0))
    pool.shutdown()


def test_explorer_runs_at_most_max_jobs_and_caches(tmp_path: Path) -> None:
    release = threading.Event()
    calls: list[str] = []

    def runner(s: Scenario, workdir: Path, *, progress, run_draw):  # type: ignore[no-untyped-def]
        calls.append(s.key)
        for i in range(3):
            run_draw(lambda: release.wait(10))
            progress(i + 1, 3)
        return f"result {s.key}"

    pool = ModelPool(1, max_waiting=8, timeout_s=30)
    jobs = ExplorerJobs(pool, tmp_path, max_jobs=2, cache_size=1, runner=runner)
    s = [Scenario("SR-Average", c, 15.0, "spread") for c in (1, 2, 3)]
    j1, j2 = jobs.submit(s[0]), jobs.submit(s[1])
    assert jobs.submit(s[0]) is j1  # same scenario: same job, no new work
    with pytest.raises(Busy, match="already being computed"):
        jobs.submit(s[2])
    release.set()
    deadline = time.monotonic() + 10
    while not (j1.state == j2.state == "done") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (j1.state, j2.state) == ("done", "done")
    assert j1.status()["done"] == 3
    assert calls.count(s[0].key) == 1
    j3 = jobs.submit(s[2])  # room again; the cache keeps only the newest finished one
    while j3.state != "done" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [j.id for j in jobs.finished()] == [j3.id]
    jobs.shutdown()
    pool.shutdown()


def test_failed_jobs_say_why_and_can_be_run_again(tmp_path: Path) -> None:
    def runner(s: Scenario, workdir: Path, *, progress, run_draw):  # type: ignore[no-untyped-def]
        raise ValueError("boom")

    pool = ModelPool(1)
    jobs = ExplorerJobs(pool, tmp_path, runner=runner)
    j = jobs.submit(Scenario("SR-High", 1, 5.0, "late"))
    deadline = time.monotonic() + 10
    while j.state != "failed" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "ValueError: boom" in j.error
    assert jobs.submit(j.scenario) is not j
    jobs.shutdown()
    pool.shutdown()


def test_report_files_outside_the_root_are_never_found(tmp_path: Path) -> None:
    root = tmp_path / "results"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "report.html").write_text("ok")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "report.html").write_text("secret")
    (root / "link").symlink_to(tmp_path / "outside")
    (root / "a" / "b" / "leak.html").symlink_to(tmp_path / "outside" / "report.html")
    assert [r.rel for r in list_runs(root)] == ["a/b"]
    assert find_file(root, "a/b/report.html") is not None
    for bad in (
        "link/report.html",
        "a/b/leak.html",
        "../outside/report.html",
        "a/../a/b/report.html",
        "/etc/passwd",
        "",
        "a/b",
    ):
        assert find_file(root, bad) is None, bad
    assert list_runs(tmp_path / "missing") == []


def test_icon_arrays_hold_exactly_100_people() -> None:
    svg = icon_array_svg(
        [IconGroup(93, "g-free", "free"), IconGroup(7, "g-after", "<b>x</b>")], title="t<"
    )
    assert svg.count('class="icon ') == 100
    assert svg.count('data-group="g-after"') == 7
    assert "<b>" not in svg
    assert "t&lt;" in svg
    with pytest.raises(ValueError, match="sum to 100"):
        icon_array_svg([IconGroup(99, "g-free", "free")], title="t")
    with pytest.raises(ValueError, match="CSS class"):
        icon_array_svg([IconGroup(100, 'x" onload="a', "free")], title="t")


def test_curves_escape_their_labels() -> None:
    svg = curves_svg(
        [
            Series(
                "<script>",
                "chemotherapy",
                [0, 5, 10],
                [1.0, 0.9, 0.85],
                [1, 0.85, 0.8],
                [1, 0.95, 0.9],
            )
        ],
        title="a & b",
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert svg.count("<polyline") == 1
    assert svg.count("<polygon") == 1


def test_form_fields_become_child_facts() -> None:
    facts = parse_facts(
        {
            "age_years": "4.5",
            "sex": "male",
            "cns": "2",
            "down_syndrome": "no",
            "eoi_flow": "0.01%",
            "eoi_hts": "Indeterminate",
            "wbc_k_per_ul": "1,200",
            "genetics": "",
        }
    )
    assert facts["age_years"] == 4.5
    assert facts["cns"] == 2
    assert facts["down_syndrome"] is False
    assert facts["eoi_flow"] == pytest.approx(1e-4)
    assert facts["eoi_hts"] == "indeterminate"
    assert facts["wbc_k_per_ul"] == 1200
    assert facts["genetics"] is None
    assert facts["day8_mrd"] is None
    with pytest.raises(FormError, match="does not know"):
        parse_facts({"age": "4"})


def test_extra_children_are_split_off_the_disease_free_ones() -> None:
    groups = icon_groups(
        {
            "alive_disease_free": 96,
            "alive_after_relapse": 2,
            "died_of_leukemia": 1,
            "died_of_treatment": 1,
            "died_of_other_causes": 0,
        }
    )
    split = with_extra(groups, 0.041)
    assert [(g.css, g.count) for g in split[:2]] == [("g-free", 92), ("g-extra", 4)]
    assert sum(g.count for g in split) == 100
    assert with_extra(groups, -0.03) == groups
    assert with_extra(groups, 0.004) == groups
    assert [g.count for g in with_extra(groups, 1.5)[:2]] == [0, 96]
