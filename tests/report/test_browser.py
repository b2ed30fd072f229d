"""The job, sweep and regression reports of a real nightly run, opened in headless Chromium:
each renders, and every link in the page the browser built resolves to an existing file."""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from edgebatch.registry import Registry
from edgebatch.report import write_job_report
from tests.cli.test_cli import FAST, edgebatch, sweep_dir
from tests.report.samples import ok_result


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        reason = "headless Chromium is not installed (Debian: apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"{reason}; CI must run this test", pytrace=False)
        pytest.skip(reason)
    return found


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")


def open_in_chromium(page: Path, screenshot: Path) -> list[str]:
    """The hrefs of every <a> in the DOM Chromium rendered, and a screenshot of the page."""
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"]
    dom = subprocess.run([*command, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    subprocess.run([*command, f"--screenshot={screenshot}", "--window-size=1200,900", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert "<html" in dom and "</main>" in dom
    assert screenshot.stat().st_size > 10_000  # a page was drawn
    parser = _Anchors()
    parser.feed(dom)
    return parser.hrefs


def test_reports_open_in_chromium_and_every_link_resolves(tmp_path):
    chromium()  # skip (or, on CI, fail) before converting anything
    # A baseline with a report of its own: the regression report links to it.
    baseline_dir = tmp_path / "baseline_run"
    baseline_report = write_job_report(ok_result("tiny_cnn"), baseline_dir)["html"]
    registry = Registry(tmp_path / "registry")
    seeded = registry.put("tiny_cnn", b"\x1c\x00\x00\x00TFL3seeded", recipe={}, tool_versions={},
                          metrics={"size_bytes": 1000, "num_ops": 3, "transposes": 0},
                          report_paths={"html": baseline_report})
    registry.set_alias("tiny_cnn", seeded.version, "baseline")

    proc = edgebatch("+suite=nightly", "+recipe=tiny_cnn", *FAST, root=tmp_path)
    assert proc.returncode == 1, proc.stderr[-3000:]  # regressed: more ops than the seed
    sweep = sweep_dir(tmp_path)
    (job_report,) = sweep.glob("*/report.html")
    pages = {"job": job_report, "sweep": sweep / "summary.html", "regression": sweep / "regression.html"}

    links = {}
    for kind, page in pages.items():
        hrefs = open_in_chromium(page, tmp_path / f"{kind}.png")
        links[kind] = hrefs
        for href in hrefs:
            target = urlparse(href)
            assert target.scheme in ("", "file") and target.path, (kind, href)
            assert (page.parent / unquote(target.path)).resolve().is_file(), (kind, href)
    assert {"result.json", "config.yaml", "job.log"} <= {Path(h).name for h in links["job"]}
    job_md = job_report.with_suffix(".md").read_text()  # read from the real .tflite and host
    assert "| inputs | args_0 | \\[1, 3, 32, 32\\] | float32 |" in job_md and "**Measured on:**" in job_md
    assert any(h.endswith("/report.html") for h in links["sweep"])  # a row links to its job
    linked = {(pages["regression"].parent / h).resolve() for h in links["regression"]}
    assert {baseline_report.resolve(), job_report.resolve()} <= linked
