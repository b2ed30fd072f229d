"""Conversion seconds and peak memory, ours against Google's converter, side by side.

Every conversion runs in a fresh process (benchmarks/_convert_child.py), the converters
alternate per model (ours, Google's, ours, Google's, ...), --runs of each. Per run: the
seconds of the convert(...) call alone (imports and building the model excluded), the
process's peak RSS (VmHWM at its end: imports, model and conversion included, what a worker
needs) and its RSS right after the imports. The table shows medians, ours / Google ratios
and their geometric mean; ours prints a per-stage breakdown when the converted model's
report has "stages".

Google's converter (litert-torch) is never a dependency of edgebatch: it runs from a
separate venv, with the same torch, importing model_zoo from this checkout:

    python3.11 -m venv /work/gvenv
    /work/gvenv/bin/pip install torch==2.14.1 torchvision==0.29.1 torchaudio==2.11.0 litert-torch==0.10.0
    .venv/bin/python benchmarks/conversion_cost.py --google-python /work/gvenv/bin/python
    .venv/bin/python benchmarks/conversion_cost.py resnet18 --runs 1 --google-python ... \\
        --json outputs/benchmarks/conversion_cost.json --update-readme
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's edgebatch, not an installed one
CHILD = Path(__file__).resolve().with_name("_convert_child.py")
README = ROOT / "README.md"
START, END = "<!-- conversion-cost:start -->", "<!-- conversion-cost:end -->"
DEFAULT_MODELS = ["resnet18", "mobilenet_v3_small", "efficientnet_b0", "shufflenet_v2_x1_0",
                  "convnext_tiny", "vit_b_16"]
OURS, GOOGLE = "edgebatch", "litert_torch"


def run_child(python: str, converter: str, model: str, timeout_s: float) -> dict:
    """One conversion in a fresh process: the child's JSON line, or an "error" entry."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    base = {"converter": converter, "model": model}
    try:
        done = subprocess.run([python, str(CHILD), converter, model], capture_output=True,
                              text=True, env=env, cwd=ROOT, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return base | {"error": f"timed out after {timeout_s:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        return base | {"error": tail[0], "stderr": done.stderr[-3000:]}
    return json.loads(lines[-1])


def measure(models: list[str], runs: int, pythons: dict[str, str], timeout_s: float) -> list[dict]:
    """All runs, in the order they ran: per model, ours and Google's alternately."""
    results = []
    for model in models:
        for index in range(runs):
            for converter in (OURS, GOOGLE):
                row = run_child(pythons[converter], converter, model, timeout_s) | {"run": index}
                results.append(row)
                if "error" in row:
                    print(f"{model} {converter} run {index}: FAILED: {row['error']}",
                          file=sys.stderr, flush=True)
                else:
                    print(f"{model} {converter} run {index}: {row['convert_s']:.2f} s, peak "
                          f"{row['peak_rss_mb']:.0f} MB (after imports "
                          f"{row['imports_rss_mb']:.0f})",
                          file=sys.stderr, flush=True)
    return results


def geomean(values: list[float]) -> float | None:
    return math.exp(statistics.fmean(math.log(v) for v in values)) if values else None


def summarize(runs: list[dict]) -> list[dict]:
    """Per model (first-seen order): the medians of each converter's successful runs."""
    models = list(dict.fromkeys(r["model"] for r in runs))
    rows = []
    for model in models:
        row = {"model": model}
        for converter, key in ((OURS, "ours"), (GOOGLE, "google")):
            ok = [r for r in runs if r["model"] == model and r["converter"] == converter
                  and "error" not in r]
            row[f"{key}_runs"] = len(ok)
            row[f"{key}_failed"] = sum(1 for r in runs if r["model"] == model
                                       and r["converter"] == converter and "error" in r)
            for field in ("convert_s", "peak_rss_mb", "imports_rss_mb", "import_s"):
                row[f"{key}_{field}"] = statistics.median(r[field] for r in ok) if ok else None
        for field in ("convert_s", "peak_rss_mb"):
            ours, google = row[f"ours_{field}"], row[f"google_{field}"]
            row[f"{field}_ratio"] = ours / google if ours and google else None
        rows.append(row)
    return rows


def _num(x: float | None, places: int) -> str:
    return "failed" if x is None else f"{x:.{places}f}"


def _pair(a: float | None, b: float | None, places: int) -> str:
    return f"{_num(a, places)} / {_num(b, places)}"


def markdown(rows: list[dict], meta: dict) -> str:
    """The README table: one row per model, then the geometric mean of each ratio."""
    lines = [
        f"Conversion cost ({meta['date']}, {meta['machine']}): edgebatch {meta['edgebatch']} "
        f"vs litert-torch {meta['litert_torch']}, torch {meta['torch']}; median of "
        f"{meta['runs']} run(s) of each, every conversion in a fresh process, the two "
        "converters alternating. Ratios are ours / Google (below 1: ours is cheaper).",
        "",
        "| model | ours s | Google s | ours / Google | ours peak RSS MB | Google peak RSS MB "
        "| ours / Google | after imports MB (ours / Google) | imports s (ours / Google) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        failed = r["ours_failed"] + r["google_failed"]
        name = r["model"] + (f" ({failed} run(s) failed)" if failed else "")
        lines.append(
            f"| {name} | {_num(r['ours_convert_s'], 2)} | {_num(r['google_convert_s'], 2)} "
            f"| {_num(r['convert_s_ratio'], 2)} | {_num(r['ours_peak_rss_mb'], 0)} "
            f"| {_num(r['google_peak_rss_mb'], 0)} | {_num(r['peak_rss_mb_ratio'], 2)} "
            f"| {_pair(r['ours_imports_rss_mb'], r['google_imports_rss_mb'], 0)} "
            f"| {_pair(r['ours_import_s'], r['google_import_s'], 1)} |")
    seconds = geomean([r["convert_s_ratio"] for r in rows if r["convert_s_ratio"]])
    memory = geomean([r["peak_rss_mb_ratio"] for r in rows if r["peak_rss_mb_ratio"]])
    lines.append(f"| **geometric mean** | | | **{_num(seconds, 2)}** | | "
                 f"| **{_num(memory, 2)}** | | |")
    lines += [
        "",
        "Seconds: the `convert(...)` call alone, timed inside the child (imports and building "
        "the model excluded). Peak RSS: the child's VmHWM at its end (imports, model and "
        "conversion included). After imports: its RSS once torch, model_zoo and the "
        "converter are loaded (ours loads TensorFlow there, Google's does not).",
    ]
    return "\n".join(lines) + "\n"


def stage_breakdown(runs: list[dict]) -> str:
    """Ours, per stage, for the first run of each model whose report has "stages"."""
    parts = []
    for model in dict.fromkeys(r["model"] for r in runs):
        run = next((r for r in runs if r["model"] == model and r["converter"] == OURS
                    and r.get("stages")), None)
        if run is None:
            continue
        parts += [f"{model} (ours, run {run['run']}), per stage:", "",
                  "| stage | s | peak RSS MB |", "|---|---:|---:|"]
        parts += [f"| {s['stage']} | {s['seconds']:.2f} | {s['peak_rss_mb']:.0f} |"
                  for s in run["stages"]]
        parts.append("")
    return "\n".join(parts)


def edgebatch_version() -> str:
    done = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty", "--tags"],
                          capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "(not a git checkout)"


def metadata(runs: list[dict], n_runs: int) -> dict:
    from edgebatch.report.coverage import machine

    def seen(converter: str, field: str) -> str:
        values = sorted({str(r[field]) for r in runs if r["converter"] == converter and field in r})
        return ", ".join(values) or "?"

    torch_ours, torch_google = seen(OURS, "torch"), seen(GOOGLE, "torch")
    torch = torch_ours if torch_ours == torch_google else f"{torch_ours} (Google's: {torch_google})"
    return {"date": date.today().isoformat(), "machine": machine(), "runs": n_runs,
            "edgebatch": edgebatch_version(), "litert_torch": seen(GOOGLE, "version"),
            "torch": torch}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=DEFAULT_MODELS)
    parser.add_argument("--runs", type=int, default=2, help="runs of each converter per model")
    parser.add_argument("--google-python", required=True,
                        help="python of a venv with litert-torch (see above)")
    parser.add_argument("--ours-python", default=sys.executable)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per conversion")
    parser.add_argument("--json", type=Path, help="write the raw runs here")
    parser.add_argument("--update-readme", action="store_true",
                        help=f"rewrite the README section between {START} and {END}")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    runs = measure(args.models, args.runs, {OURS: args.ours_python, GOOGLE: args.google_python},
                   args.timeout)
    for run in runs:
        if run["converter"] == OURS and "source" in run and not run["source"].startswith(str(ROOT)):
            print(f"warning: ours ran {run['source']}, not this checkout", file=sys.stderr)
    rows = summarize(runs)
    meta = metadata(runs, args.runs)
    table = markdown(rows, meta)
    stages = stage_breakdown(runs)
    print(table + ("\n" + stages if stages else ""))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({**meta, "rows": rows, "runs": runs}, indent=2))
    if args.update_readme:
        from edgebatch.report.markdown import rewrite_section

        if not rewrite_section(args.readme, START, END, table):
            return 2
        print(f"{args.readme}: conversion cost of {len(rows)} models", file=sys.stderr)
    return 1 if any("error" in r for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
