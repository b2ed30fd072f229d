"""Sweep summaries: the table, the Pareto plot, the failures."""

from __future__ import annotations

from edgebatch.report import write_sweep_report
from edgebatch.report.pareto import Point, front
from tests.report.samples import failed_result, ok_result, sweep_results
from tests.report.selfcontained import assert_self_contained


def test_sweep_writes_table_plot_and_failures(tmp_path):
    paths = write_sweep_report(sweep_results(), tmp_path)

    assert set(paths) == {"markdown", "html", "pareto_resnet18_plot"}  # one plot per model
    assert paths["pareto_resnet18_plot"].read_bytes().startswith(b"\x89PNG")
    md = paths["markdown"].read_text()
    assert "5 jobs: 1 failed, 4 ok" in md
    assert ("| job | quant | layout | status | size MB | rel. error | cosine | latency 1t ms | "
            "latency 2t ms | transposes | artifact |") in md
    assert "| resnet18_nhwc_int8 | int8 | nhwc | ok | 11.84 | 0.018 | 0.997120 | 9.700 | 5.432 | 1 |" in md
    assert "| resnet18_pt2e_dynamic | drq | nchw | failed (convert) |" in md
    assert "](summary_pareto_resnet18.png)" in md
    # Failures listed with stage, class and signature
    failures = md.split("## Failures")[1]
    assert "| resnet18_pt2e_dynamic | drq | convert | UnsupportedOpError |" in failures
    assert "e3b0c44298fc" in failures


def test_sweep_pareto_front_is_named(tmp_path):
    md = write_sweep_report(sweep_results(), tmp_path)["markdown"].read_text()

    # size: drq (11.78 MB) beats int8 (11.84 MB, more error); fp16 and none trade size for error
    assert "**resnet18: Pareto front, size vs relative error:** drq → fp16 → none" in md
    assert "**resnet18: Pareto front, latency vs relative error:** int8 → drq → fp16 → none" in md


def test_one_pareto_plot_per_model(tmp_path):
    jobs = [*sweep_results(), ok_result("vit_fp16", quant="fp16"), ok_result("vit", quant="none")]
    for job in jobs[-2:]:
        job["config"]["model"]["name"] = "vit_b_16"
    paths = write_sweep_report(jobs, tmp_path)
    assert {"pareto_resnet18_plot", "pareto_vit_b_16_plot"} <= set(paths)
    md = paths["markdown"].read_text()
    assert "**vit_b_16: Pareto front, size vs relative error:**" in md


def test_sweep_html_is_self_contained(tmp_path):
    html = write_sweep_report(sweep_results(), tmp_path)["html"].read_text()

    assert_self_contained(html)
    assert html.count("data:image/png;base64,") == 1
    assert "Pareto" in html and "UnsupportedOpError" in html


def test_sweep_without_two_measured_jobs_has_no_plot(tmp_path):
    paths = write_sweep_report([ok_result(), failed_result()], tmp_path)

    assert "pareto_plot" not in paths
    assert "Pareto" not in paths["markdown"].read_text()


def test_empty_sweep_and_broken_results_render(tmp_path):
    assert write_sweep_report([], tmp_path / "empty")["html"].exists()
    broken = [{}, {"status": "ok", "validation": "?", "model": None, "benchmark": {"threads": None}},
              ok_result(), {"name": "x", "status": "ok", "validation": {"rel_error": float("inf")}}]
    assert write_sweep_report(broken, tmp_path / "broken")["html"].exists()


def test_labels_fall_back_to_names_when_quant_repeats(tmp_path):
    jobs = [ok_result(name="resnet18"), ok_result(name="mobilenet_v2", size_bytes=14_000_000, rel_error=1e-6)]
    md = write_sweep_report(jobs, tmp_path)["markdown"].read_text()
    assert "vs relative error:** mobilenet_v2" in md


def test_front_keeps_only_points_nothing_beats():
    points = [Point("a", 10, 0.1), Point("b", 5, 0.2), Point("c", 6, 0.3), Point("d", 20, 0.01),
              Point("e", 10, 0.05)]
    assert [p.label for p in front(points)] == ["b", "e", "d"]
