"""Rewrite the README's zoo coverage section from coverage.json files.

    python scripts/update_readme_coverage.py [--readme PATH] coverage.json [MORE.json ...]

Later files win for a model that several list (e.g. a re-run of the families a fix
touched). The section sits between the markers `<!-- zoo-coverage:start -->` and
`<!-- zoo-coverage:end -->`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edgebatch.report.coverage import markdown
from edgebatch.report.markdown import rewrite_section

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- zoo-coverage:start -->", "<!-- zoo-coverage:end -->"


def merged_rows(paths: list[Path]) -> tuple[list[dict], dict]:
    rows: dict[str, dict] = {}
    latest: dict = {}
    for path in paths:
        data = json.loads(path.read_text())
        latest = data
        rows.update({row["model"]: row for row in data["rows"]})
    ordered = sorted(rows.values(), key=lambda r: (r["task"], r["family"], r["model"]))
    return ordered, latest


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("coverage", type=Path, nargs="+", help="coverage.json of a zoo run")
    args = parser.parse_args(argv)
    rows, latest = merged_rows(args.coverage)
    table = markdown(rows, day=latest["date"], host=latest["machine"])
    if not rewrite_section(args.readme, START, END, table):
        return 2
    print(f"{args.readme}: {len(rows)} models")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
