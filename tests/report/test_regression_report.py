"""Nightly regression reports: regressions first, failures with signature and last good version."""

from __future__ import annotations

from edgebatch.report import write_regression_report
from edgebatch.report.regression import ordered
from tests.report.samples import comparisons
from tests.report.selfcontained import assert_self_contained


def test_regressions_come_first_then_failures():
    assert [c["status"] for c in ordered(comparisons())] == ["regressed", "failed", "new", "ok"]


def test_report_table_lists_regressions_first(tmp_path):
    paths = write_regression_report(comparisons(), tmp_path)
    md = paths["markdown"].read_text()

    assert set(paths) == {"markdown", "html"}
    table = md.split("## Models")[1].split("## Details")[0]
    names = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")][2:]
    assert names == ["resnet18", "vit_b_16", "convtasnet", "mobilenet_v2"]
    assert "| resnet18 | regressed | 7 | 8 | latency_ms_1t 21.400 ms → 27.900 ms (+30.4%) |" in table
    assert "2 of 4 models regressed or failed" in md


def test_failure_shows_signature_and_last_good_version(tmp_path):
    md = write_regression_report(comparisons(), tmp_path)["markdown"].read_text()

    row = next(line for line in md.splitlines() if line.startswith("| vit_b_16 |"))
    assert "5d41402abc4b" in row and "| 2 | 2026-05-07 |" in row
    details = md.split("### vit_b_16: failed")[1]
    assert "**error class:** ConversionError" in details
    assert "**last good version:** 2" in details


def test_checks_table_for_regressed_model(tmp_path):
    md = write_regression_report(comparisons(), tmp_path)["markdown"].read_text()

    details = md.split("### resnet18: regressed")[1].split("###")[0]
    # numbers with units, thresholds in the metric's terms
    assert "| latency_ms_1t | 21.400 ms | 27.900 ms | +6.500 ms | +30.4% | +10% | yes |" in details
    assert "| transposes | 1 | 1 | +0 | +0.0% | +0 | no |" in details


def test_html_escapes_error_and_is_self_contained(tmp_path):
    html = write_regression_report(comparisons(), tmp_path)["html"].read_text()

    assert_self_contained(html)  # includes: no <script
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<tr class="bad"><td>resnet18</td>' in html


def test_all_ok_and_malformed_comparisons(tmp_path):
    md = write_regression_report([comparisons()[0]], tmp_path / "ok")["markdown"].read_text()
    assert "**Verdict:** no regressions" in md
    broken = [{}, {"name": "x", "status": "failed", "error": "boom", "checks": None, "baseline": 3},
              {"name": "y", "status": "regressed", "checks": [None, {"metric": "size"}]}]
    assert write_regression_report(broken, tmp_path / "broken")["html"].exists()


def test_links_to_both_runs_reports_and_diffs_recipe_and_tools(tmp_path):
    runs = {side: tmp_path / side / "report.html" for side in ("baseline", "current")}
    for path in runs.values():
        path.parent.mkdir()
        path.write_text("<html></html>")
    (regressed, *_) = [c for c in comparisons() if c["status"] == "regressed"]
    regressed["baseline"]["report"], regressed["current"]["report"] = map(str, runs.values())
    regressed["recipe_changes"] = {"quant.name": {"a": "none", "b": "drq"}}
    regressed["tool_version_changes"] = {}
    paths = write_regression_report([regressed], tmp_path / "sweep")
    md, html = paths["markdown"].read_text(), paths["html"].read_text()

    assert "**Reports:** [baseline (version 7)](<../baseline/report.html>) · " \
           "[current (version 8)](<../current/report.html>)" in md
    assert '<td class="num"><a href="../baseline/report.html">7</a></td>' in html
    assert "| quant.name | none | drq |" in md
    assert "**Tool versions vs baseline:** no changes" in md
