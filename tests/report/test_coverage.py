"""The zoo coverage table from job results: rows, counts, reasons, and the README script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from edgebatch.report.coverage import coverage_rows, write_coverage

ROOT = Path(__file__).resolve().parents[2]


def result(name, family, kind, status="ok", **extra):
    config = {"model": {"name": name}, "labels": {"family": family, "task": kind}}
    base = {"name": name, "status": status, "config": config}
    if status == "ok":
        base |= {"validation": {"rel_error": 1e-6, "cosine": 0.999999, "n_inputs": 4},
                 "model": {"num_ops": 50, "transposes": 0, "size_bytes": 4_500_000},
                 "conversion": {"seconds": 7.5, "peak_rss_mb": 1900.0},
                 "benchmark": {"threads": {"1": {"median_ms": 12.5}}}}
    else:
        base |= {"stage": "convert", "error": {"class": "ExportError",
                                               "message": "torch.export could not capture X\nmore"}}
    return base | extra


def test_rows_are_ordered_and_red_rows_carry_a_one_line_reason(tmp_path):
    results = [result("resnet18", "resnet", "classification"),
               result("conformer", "conformer", "audio", status="failed"),
               result("digits_cnn", "digits_cnn", "task", task={"tflite": 0.975})]
    rows = coverage_rows(results)
    assert [r["family"] for r in rows] == ["conformer", "resnet", "digits_cnn"]
    assert rows[0]["reason"] == "convert: ExportError: torch.export could not capture X"
    paths = write_coverage(results, tmp_path)
    table = paths["markdown"].read_text()
    assert "**2 green, 1 red** of 3" in table
    assert "| task | digits_cnn | digits_cnn | green |" in table and "top-1 0.9750" in table
    assert json.loads(paths["json"].read_text())["rows"][1]["size_bytes"] == 4_500_000


def test_the_readme_script_replaces_only_its_section(tmp_path):
    first = write_coverage([result("resnet18", "resnet", "classification")], tmp_path)["json"]
    (tmp_path / "b").mkdir()
    second = write_coverage([result("resnet18", "resnet", "classification", status="failed")],
                            tmp_path / "b")["json"]
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- zoo-coverage:start -->\nold\n<!-- zoo-coverage:end -->\nrest\n")
    script = ROOT / "scripts" / "update_readme_coverage.py"
    done = subprocess.run([sys.executable, str(script), "--readme", str(readme), str(first),
                           str(second)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "old" not in text
    assert "**0 green, 1 red** of 1" in text  # the later file wins
