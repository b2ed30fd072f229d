"""Per-job reports: ok, quantized and failed jobs, and results with sections missing."""

from __future__ import annotations

import pytest

from edgebatch.report import write_job_report
from tests.report.samples import failed_result, ok_result, quantized_result
from tests.report.selfcontained import assert_self_contained


def test_ok_job_writes_markdown_html_and_plot(tmp_path):
    paths = write_job_report(ok_result(), tmp_path)

    assert set(paths) == {"markdown", "html", "ops_plot"}
    assert all(path.parent == tmp_path and path.stat().st_size > 0 for path in paths.values())
    assert paths["ops_plot"].read_bytes().startswith(b"\x89PNG")
    md = paths["markdown"].read_text()
    for figure in ("46,827,312 B (46.83 MB)", "**max abs error:** 2.4e-06", "**cosine similarity:** 1.000000",
                   "**verdict:** PASS", "| CONV_2D | 20 | 60.6% |", "| 1 | 21.400 | 23.112 | 50 |",
                   "resnet18_nhwc@1", "9f2c4e1b", "**torch:** 2.14.1", "3.94 s", "2312 MB",
                   "**signatures:** serving_default", "**TRANSPOSE ops:** 1", "| convert | 3.94 |"):
        assert figure in md, figure
    assert "```yaml" in md and "kwargs:" in md  # the resolved config
    assert "](report_ops.png)" in md


def test_ok_job_html_is_self_contained_with_key_figures(tmp_path):
    html = write_job_report(ok_result(), tmp_path)["html"].read_text()

    assert_self_contained(html)
    for figure in ("Status:", "46,827,312 B", "2.4e-06", "PASS", "TRANSPOSE ops", "21.400",
                   "resnet18_nhwc@1", "Resolved config", "arch: resnet18", "peak memory"):
        assert figure in html, figure


def test_quantized_job_separates_quantization_from_conversion_error(tmp_path):
    paths = write_job_report(quantized_result("int8"), tmp_path)
    html = paths["html"].read_text()

    assert "what quantization changed" in html and "what conversion changed" in html
    assert "0.999991" in html and "0.00095" in html  # quantized PyTorch vs TFLite
    assert "pt2e_static" in html and "int8 21" in html
    assert "QUANTIZE" in html


def test_failed_job_shows_stage_class_message_signature(tmp_path):
    paths = write_job_report(failed_result(), tmp_path)
    md, html = paths["markdown"].read_text(), paths["html"].read_text()

    assert "ops_plot" not in paths  # no model, no histogram
    for text in (md, html):
        assert "failed at stage convert" in text
        assert "UnsupportedOpError" in text and "e3b0c44298fc" in text
        assert "aten.stft" in text
    assert "Validation" not in html and "Latency" not in html


def test_error_message_html_is_escaped(tmp_path):
    result = failed_result(message='bad input <script>alert("x")</script> & <img src=x>')
    paths = write_job_report(result, tmp_path)
    html, md = paths["html"].read_text(), paths["markdown"].read_text()

    assert "<script" not in html and "<img src=x>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img src=x&gt;" in html  # jinja2's escaping
    assert "<script>" in md.split("```")[1]  # literal inside a fenced block, never raw HTML
    assert_self_contained(html)


def test_name_with_markup_is_escaped_everywhere(tmp_path):
    result = ok_result(name="evil<b>|name")
    paths = write_job_report(result, tmp_path)

    assert "<b>" not in paths["html"].read_text()
    assert "evil\\<b\\>\\|name" in paths["markdown"].read_text()


SECTIONS = ["recipe", "status", "stage", "error", "config", "conversion", "model", "validation",
            "quantization", "benchmark", "artifact", "timings", "tool_versions", "started_at",
            "finished_at"]


@pytest.mark.parametrize("key", SECTIONS)
@pytest.mark.parametrize("replacement", ["missing", None, "garbage"])
def test_any_section_missing_or_malformed_still_renders(tmp_path, key, replacement):
    result = quantized_result()
    if replacement == "missing":
        del result[key]
    else:
        result[key] = replacement

    paths = write_job_report(result, tmp_path)

    assert paths["html"].read_text().startswith("<!DOCTYPE html>")


def test_empty_result_renders(tmp_path):
    paths = write_job_report({}, tmp_path)
    assert "unnamed job" in paths["markdown"].read_text()


def test_nested_malformed_values_render(tmp_path):
    result = ok_result()
    result["model"]["ops"] = {"CONV_2D": "many", "ADD": None, "MEAN": 2}
    result["benchmark"]["threads"]["4"] = None
    result["validation"]["cosine"] = float("nan")
    result["config"]["weird"] = {1: {2, 3}, "path": object()}

    html = write_job_report(result, tmp_path)["html"].read_text()

    assert "MEAN" in html and "nan" in html


def test_flex_and_unfolded_constants_are_flagged(tmp_path):
    result = ok_result()
    result["model"].update(uses_flex=True, ops_on_constants=["SHAPE", "CAST"], gather_nd=3,
                           ops={**result["model"]["ops"], "GATHER_ND": 3, "CUSTOM:FlexErf": 2})
    md = write_job_report(result, tmp_path)["markdown"].read_text()

    assert "**Flex ops (SELECT_TF_OPS):** yes" in md
    assert "needs the Flex delegate" in md
    assert "(not folded):** SHAPE, CAST" in md
    assert "| GATHER_ND | 3 |" in md and "| CUSTOM:FlexErf | 2 |" in md


def test_signatures_host_and_file_links(tmp_path):
    result = ok_result()
    result["model"]["signature_io"] = {"serving_default": {
        "inputs": [{"name": "args_0", "shape": [-1, 3, 224, 224], "dtype": "float32"}],
        "outputs": [{"name": "output_0", "shape": [-1, 1000], "dtype": "float32"}]}}
    result["benchmark"]["host"] = {"cpu": "Intel(R) Xeon(R) CPU @ 2.20GHz", "logical_cores": 2,
                                   "physical_cores": 1, "machine": "x86_64", "system": "Linux 6.1"}
    (tmp_path / "result.json").write_text("{}")
    (tmp_path / "job.log").write_text("")
    md = write_job_report(result, tmp_path)["markdown"].read_text()

    assert "### serving_default" in md
    assert "| inputs | args_0 | \\[?, 3, 224, 224\\] | float32 |" in md  # -1: a dynamic dimension
    assert "| outputs | output_0 | \\[?, 1000\\] | float32 |" in md
    assert ("**Measured on:** Intel(R) Xeon(R) CPU @ 2.20GHz, 1 physical / 2 logical cores, "
            "x86_64, Linux 6.1") in md
    assert "**Files:** [result.json](<result.json>) · [job.log](<job.log>)" in md


def test_quantized_job_lists_the_layers_kept_float(tmp_path):
    result = quantized_result("int8")
    result["config"]["quant"]["keep_float"] = "auto:2"
    result["quantization"].update(
        keep_float=["auto:2"], kept_float=["features.1.block.0.0", "features.0.0"],
        keep_float_auto=[{"layer": "features.1.block.0.0", "error": 0.0015},
                         {"layer": "features.0.0", "error": 0.00093}])
    paths = write_job_report(result, tmp_path)
    md = paths["markdown"].read_text()
    assert "**kept_float:** features.1.block.0.0, features.0.0" in md
    assert "| features.0.0 | 0.00093 |" in md
    assert "int8 keep_float=auto:2" in md
