"""benchmarks/conversion_cost.py without conversions: medians, ratios, the geometric mean,
failed runs, the children's JSON line, and the README section it rewrites."""

from __future__ import annotations

import pytest

from benchmarks.conversion_cost import markdown, run_child, stage_breakdown, summarize
from edgebatch.report.markdown import replace_section

META = {"date": "2026-11-30", "machine": "CPU, 2 cores, 24 GiB", "edgebatch": "abc1234",
        "litert_torch": "0.10.0", "torch": "2.14.1", "runs": 2}


def run(converter, model, seconds, peak, index=0):
    return {"converter": converter, "model": model, "run": index, "convert_s": seconds,
            "peak_rss_mb": peak, "imports_rss_mb": peak / 2, "import_s": 5.0}


def test_medians_ratios_and_their_geometric_mean():
    runs = [run("edgebatch", "a", 2.0, 1000), run("litert_torch", "a", 4.0, 500),
            run("edgebatch", "a", 4.0, 1200, 1), run("litert_torch", "a", 6.0, 700, 1),
            run("edgebatch", "b", 8.0, 900), run("litert_torch", "b", 4.0, 1800)]
    rows = summarize(runs)
    assert [r["model"] for r in rows] == ["a", "b"]
    assert rows[0]["ours_convert_s"] == 3.0 and rows[0]["google_convert_s"] == 5.0
    assert rows[0]["convert_s_ratio"] == pytest.approx(0.6)
    assert rows[0]["peak_rss_mb_ratio"] == pytest.approx(1100 / 600)
    table = markdown(rows, META)
    assert "| a | 3.00 | 5.00 | 0.60 | 1100 | 600 | 1.83 | 550 / 300 | 5.0 / 5.0 |" in table
    # seconds: sqrt(0.6 * 2.0); memory: sqrt(1100/600 * 0.5)
    assert "| **geometric mean** | | | **1.10** | | | **0.96** | | |" in table


def test_a_failed_run_is_left_out_of_the_medians_and_shown():
    runs = [run("edgebatch", "a", 2.0, 1000), run("litert_torch", "a", 4.0, 500),
            {"converter": "edgebatch", "model": "b", "run": 0, "error": "LoweringError: x"},
            run("litert_torch", "b", 4.0, 1800)]
    rows = summarize(runs)
    assert rows[1]["ours_convert_s"] is None and rows[1]["convert_s_ratio"] is None
    table = markdown(rows, META)
    assert "| b (1 run(s) failed) | failed | 4.00 | failed |" in table
    assert "| **geometric mean** | | | **0.50** | | | **2.00** | | |" in table  # a alone


def test_the_child_json_line_is_found_among_other_output_and_failures_keep_stderr(tmp_path):
    chatty = tmp_path / "chatty"
    chatty.write_text('#!/bin/sh\necho "a library talks"\necho \'{"convert_s": 1.5}\'\necho bye\n')
    failing = tmp_path / "failing"
    failing.write_text("#!/bin/sh\necho warming up >&2\necho 'RuntimeError: no' >&2\nexit 3\n")
    for script in (chatty, failing):
        script.chmod(0o755)
    assert run_child(str(chatty), "edgebatch", "a", 30) == {"convert_s": 1.5}
    failed = run_child(str(failing), "litert_torch", "a", 30)
    assert failed["error"] == "RuntimeError: no" and "warming up" in failed["stderr"]
    assert failed["converter"] == "litert_torch" and failed["model"] == "a"


def test_replace_section_keeps_the_markers_and_refuses_a_missing_one():
    text = "intro\n<!-- s -->\nold\n<!-- e -->\nrest\n"
    assert replace_section(text, "<!-- s -->", "<!-- e -->", "new\n") == (
        "intro\n<!-- s -->\nnew\n<!-- e -->\nrest\n")
    for broken in ("intro\n<!-- s -->\nold\n", "<!-- e -->\n<!-- s -->\n"):
        with pytest.raises(ValueError, match="no <!-- s --> ... <!-- e --> section"):
            replace_section(broken, "<!-- s -->", "<!-- e -->", "new\n")


def test_the_stage_breakdown_shows_ours_first_run_with_stages_per_model():
    staged = run("edgebatch", "a", 2.0, 1000, 1) | {"stages": [
        {"stage": "export", "seconds": 1.234, "peak_rss_mb": 900.4},
        {"stage": "tflite", "seconds": 0.5, "peak_rss_mb": 1000.0}]}
    runs = [run("edgebatch", "a", 2.0, 1000), staged, run("edgebatch", "b", 1.0, 800)]
    assert stage_breakdown(runs) == (
        "a (ours, run 1), per stage:\n\n| stage | s | peak RSS MB |\n|---|---:|---:|\n"
        "| export | 1.23 | 900 |\n| tflite | 0.50 | 1000 |\n")
    assert stage_breakdown(runs[:1]) == ""  # no report has stages yet
