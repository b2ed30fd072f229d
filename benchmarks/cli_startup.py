"""Wall and CPU time of the command-line tools' quick commands: --help, shell completion,
--cfg job, --dry-run and edgebatch-registry list/show (none should load torch or TensorFlow).

    python benchmarks/cli_startup.py [--runs 5] [--compare OTHER_SOURCE_TREE]

Each command runs in a fresh process with this tree (and OTHER_SOURCE_TREE, e.g. an
unpacked older commit) first on PYTHONPATH, interleaved, against a one-artifact registry
that tree creates; the table shows medians. On a shared machine the wall time follows the
load; the CPU time (user + system, of the process and its children) much less.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COMMANDS = [
    ("edgebatch --help", ["edgebatch", "--help"], {}),
    ("completion (edgebatch -sc query=bash)", ["edgebatch", "-sc", "query=bash"],
     {"COMP_LINE": "edgebatch +rec", "COMP_POINT": "14"}),
    ("edgebatch +recipe=resnet18 --cfg job", ["edgebatch", "+recipe=resnet18", "--cfg", "job"], {}),
    ("edgebatch-registry list", ["edgebatch-registry", "--root", "{registry}", "list"], {}),
    ("edgebatch-registry show tiny_cnn", ["edgebatch-registry", "--root", "{registry}", "show", "tiny_cnn"], {}),
]
_MAKE_REGISTRY = """
import sys
from edgebatch.registry import Registry
Registry(sys.argv[1]).put("tiny_cnn", b"\\x1c\\x00\\x00\\x00TFL3" + bytes(1000), recipe={},
                          metrics={"size_bytes": 1008}, tool_versions={})
"""


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--compare", type=Path, help="another source tree to time alongside")
    args = parser.parse_args()
    trees = {"this": HERE, **({"compare": args.compare.resolve()} if args.compare else {})}
    work = Path(tempfile.mkdtemp(prefix="edgebatch-cli-startup."))
    envs, registries = {}, {}
    for label, tree in trees.items():
        envs[label] = {**os.environ, "PYTHONPATH": str(tree)}
        registries[label] = work / f"registry-{label}"
        subprocess.run([sys.executable, "-c", _MAKE_REGISTRY, str(registries[label])],
                       env=envs[label], cwd=work, check=True)  # cwd: not this tree's edgebatch
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(args.runs):
        for name, argv, extra in COMMANDS:
            for label in trees:
                command = [str(BIN / argv[0])] + [a.replace("{registry}", str(registries[label]))
                                                  for a in argv[1:]]
                samples.setdefault((name, label), []).append(
                    timed(command, {**envs[label], **extra}, work))
    print(f"median of {args.runs} interleaved runs; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    header = "".join(f" | {label} wall s | {label} CPU s" for label in trees)
    print(f"| command{header} |")
    print("|---" + "|---:" * (2 * len(trees)) + "|")
    for name, *_ in COMMANDS:
        cells = []
        for label in trees:
            walls, cpus = zip(*samples[(name, label)])
            cells += [f"{statistics.median(walls):.2f}", f"{statistics.median(cpus):.2f}"]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
