"""`edgebatch-registry`: list, show, runs, diff, alias, unalias, tag, describe, export, delete,
verify and gc from the command line. Sizes are in MB (10^6 bytes), as everywhere in edgebatch.

Every command works on an existing registry only: a mistyped --root or --url is an error,
never a new, empty registry.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgebatch.errors import CorruptBlobError, RegistryError
from edgebatch.registry.diff import flatten
from edgebatch.registry.records import Artifact
from edgebatch.registry.registry import Registry
from edgebatch.registry.verify import VerifyReport
from edgebatch.units import megabytes

ENV_ROOT = "EDGEBATCH_REGISTRY"
ENV_URL = "EDGEBATCH_REGISTRY_URL"
DEFAULT_ROOT = "outputs/registry"
EXIT_DAMAGED = 1  # a blob is missing or corrupt, or verify found a problem
EXIT_BAD_ARGUMENTS = 2  # also: no registry at the root, no such artifact


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    root = args.root or os.environ.get(ENV_ROOT) or DEFAULT_ROOT
    url = args.url or os.environ.get(ENV_URL)
    try:
        status = args.command(Registry.open(root, url=url), args) or 0
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (RegistryError, OSError) as e:
        print(f"edgebatch-registry: error: {e}", file=sys.stderr)
        return EXIT_DAMAGED if isinstance(e, CorruptBlobError) else EXIT_BAD_ARGUMENTS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgebatch-registry",
        description="Browse and manage the edgebatch artifact registry.",
        epilog=(
            f"exit status: 0 done; {EXIT_DAMAGED} a blob is missing or corrupt (for verify: any "
            f"problem); {EXIT_BAD_ARGUMENTS} bad arguments, no such artifact, or no registry at "
            "the root."
        ),
    )
    parser.add_argument(
        "--root",
        help=f"registry directory, holds the blobs (default: ${ENV_ROOT} or {DEFAULT_ROOT})",
    )
    parser.add_argument(
        "--url",
        help=(
            "index database, sqlite:///PATH or postgresql://USER@HOST/DATABASE "
            f"(default: ${ENV_URL} or sqlite:///ROOT/index.sqlite)"
        ),
    )
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="print JSON instead of a table")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    sub = commands.add_parser("list", parents=[json_flag], help="list artifacts")
    sub.add_argument("name", nargs="?", help="only versions of this name")
    sub.set_defaults(command=_list)
    sub = commands.add_parser("show", parents=[json_flag], help="show one artifact")
    sub.add_argument("ref", help="NAME, NAME@VERSION or NAME@ALIAS")
    sub.add_argument("--ops", action="store_true",
                     help="also the op histogram and how XNNPACK partitions the graph")
    sub.add_argument("--explore", action="store_true",
                     help="open the model in Model Explorer (pip install 'edgebatch[viz]')")
    sub.set_defaults(command=_show)
    sub = commands.add_parser("runs", parents=[json_flag], help="recorded job runs, newest first")
    sub.add_argument("name", nargs="?", help="only runs of this name")
    sub.add_argument("--limit", type=int, default=20, help="at most this many (default: 20)")
    sub.set_defaults(command=_runs)
    sub = commands.add_parser("diff", parents=[json_flag], help="compare two artifacts")
    sub.add_argument("a", help="reference of the old artifact")
    sub.add_argument("b", help="reference of the new artifact")
    sub.set_defaults(command=_diff)
    sub = commands.add_parser("alias", help="point an alias at a version")
    sub.add_argument("ref", help="NAME@VERSION (or any reference)")
    sub.add_argument("alias", help="e.g. baseline, production")
    sub.set_defaults(command=_alias)
    sub = commands.add_parser("unalias", help="remove an alias")
    sub.add_argument("name", help="artifact name")
    sub.add_argument("alias", help="the alias to remove")
    sub.set_defaults(command=_unalias)
    sub = commands.add_parser("tag", help="add or remove tags on an artifact")
    sub.add_argument("ref", help="NAME, NAME@VERSION or NAME@ALIAS")
    sub.add_argument("tags", nargs="+", help="tags to add")
    sub.add_argument("--remove", action="store_true", help="remove these tags instead")
    sub.set_defaults(command=_tag)
    sub = commands.add_parser("describe", help="set an artifact's description")
    sub.add_argument("ref", help="NAME, NAME@VERSION or NAME@ALIAS")
    sub.add_argument("text", help="the description ('' clears it)")
    sub.set_defaults(command=_describe_command)
    sub = commands.add_parser("export", help="copy an artifact's .tflite file out")
    sub.add_argument("ref", help="NAME, NAME@VERSION or NAME@ALIAS")
    sub.add_argument("path", help="destination file, or directory (DIR/ gets DIR/NAME@VERSION.tflite)")
    sub.set_defaults(command=_export)
    sub = commands.add_parser(
        "delete", help="delete a version (its number is not reused; gc frees its blob)"
    )
    sub.add_argument("ref", help="NAME@VERSION or NAME@ALIAS")
    sub.add_argument("--force", action="store_true",
                     help="also when aliases point at it (they are removed)")
    sub.set_defaults(command=_delete)
    sub = commands.add_parser(
        "verify", parents=[json_flag], help="re-hash every blob, look for stray files"
    )
    sub.set_defaults(command=_verify)
    sub = commands.add_parser("gc", help="remove unreferenced blobs and temp files")
    sub.set_defaults(command=_gc)
    return parser


# --- commands ----------------------------------------------------------------------


def _list(registry: Registry, args: argparse.Namespace) -> None:
    artifacts = registry.list(args.name)
    if args.json:
        _print_json([artifact.to_dict() for artifact in artifacts])
        return
    rows = [
        [
            a.name,
            str(a.version),
            megabytes(a.size_bytes),
            a.sha256[:12],
            a.created_at,
            ", ".join(a.aliases),
            ", ".join(a.tags),
        ]
        for a in artifacts
    ]
    print(_table(["NAME", "VERSION", "SIZE", "SHA256", "CREATED", "ALIASES", "TAGS"], rows))


def _runs(registry: Registry, args: argparse.Namespace) -> None:
    runs = registry.runs(args.name, limit=args.limit)
    if args.json:
        _print_json([run.__dict__ for run in runs])
        return
    rows = [
        [
            run.finished_at or "-",
            run.name,
            run.status if run.status == "ok" else f"{run.status} at {run.stage}",
            "-" if run.artifact_version is None else f"{run.name}@{run.artifact_version}",
            run.error_class or "",
        ]
        for run in runs
    ]
    print(_table(["FINISHED", "NAME", "STATUS", "ARTIFACT", "ERROR"], rows))


def _show(registry: Registry, args: argparse.Namespace) -> int:
    artifact = registry.get(args.ref)
    flatbuffer = registry.read_blob(artifact)  # describe only an artifact whose bytes are intact
    ops = _op_details(flatbuffer) if args.ops else None
    if args.json:
        _print_json({**artifact.to_dict(), **({"ops": ops} if ops else {})})
    else:
        print(_describe(artifact))
        if ops:
            print("\n" + _describe_ops(ops))
    return _explore(artifact.path) if args.explore else 0


def _op_details(flatbuffer: bytes) -> dict[str, Any]:
    from edgebatch.flatbuffer_summary import summarize
    from edgebatch.model import TfLiteModel

    return {"histogram": dict(summarize(flatbuffer).ops.most_common()),
            "xnnpack_partitions": TfLiteModel(flatbuffer).xnnpack_partitions()}


def _describe_ops(ops: dict[str, Any]) -> str:
    return "\n".join([f"ops ({sum(ops['histogram'].values())}):", *_pairs(ops["histogram"]), "",
                      f"XNNPACK partitions: {ops['xnnpack_partitions']} (1: the whole graph at once)"])


def _explore(path: Path) -> int:
    try:
        import model_explorer
    except ImportError:
        print("edgebatch-registry: error: Model Explorer is not installed: "
              "pip install 'edgebatch[viz]'", file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    model_explorer.visualize(str(path))
    return 0


def _diff(registry: Registry, args: argparse.Namespace) -> None:
    diff = registry.diff(args.a, args.b)
    if args.json:
        _print_json(diff)
        return
    size = diff["size_bytes"]
    lines = [
        f"{diff['a']} -> {diff['b']}: {'identical' if diff['same_bytes'] else 'different'} bytes",
        f"size: {megabytes(size['a'])} -> {megabytes(size['b'])} ({_change(size, _signed_size)})",
        "",
    ]
    metric_rows = [
        [key, _value(d["a"]), _value(d["b"]), _change(d)] for key, d in diff["metrics"].items()
    ]
    lines.append(_table(["METRIC", "A", "B", "CHANGE"], metric_rows))
    for section in ("recipe", "tool_versions"):
        changes = diff[section]
        lines += ["", f"{section} changes:" if changes else f"{section}: no changes"]
        lines += [f"  {path}: {_value(d['a'])} -> {_value(d['b'])}" for path, d in changes.items()]
    print("\n".join(lines))


def _alias(registry: Registry, args: argparse.Namespace) -> None:
    artifact = registry.get(args.ref)
    registry.set_alias(artifact.name, artifact.version, args.alias)
    print(f"{artifact.name}@{args.alias} -> {artifact.ref}")


def _unalias(registry: Registry, args: argparse.Namespace) -> None:
    version = registry.remove_alias(args.name, args.alias)
    print(f"removed {args.name}@{args.alias} (was {args.name}@{version})")


def _tag(registry: Registry, args: argparse.Namespace) -> None:
    if args.remove:
        artifact = registry.tag(args.ref, remove=args.tags)
    else:
        artifact = registry.tag(args.ref, add=args.tags)
    print(f"{artifact.ref} tags: {', '.join(artifact.tags) or '-'}")


def _describe_command(registry: Registry, args: argparse.Namespace) -> None:
    artifact = registry.describe(args.ref, args.text)
    print(f"{artifact.ref}: {artifact.description or '(no description)'}")


def _export(registry: Registry, args: argparse.Namespace) -> None:
    print(registry.export(args.ref, args.path))


def _delete(registry: Registry, args: argparse.Namespace) -> None:
    artifact, removed_aliases = registry.delete(args.ref, force=args.force)
    also = f" and its alias(es) {', '.join(removed_aliases)}" if removed_aliases else ""
    print(f"deleted {artifact.ref}{also}; edgebatch-registry gc frees unreferenced blobs")


def _verify(registry: Registry, args: argparse.Namespace) -> int:
    report = registry.verify()
    if args.json:
        _print_json(report.to_dict())
    else:
        print(_verify_summary(report))
    return 0 if report.ok else EXIT_DAMAGED


def _gc(registry: Registry, args: argparse.Namespace) -> None:
    freed = registry.gc()
    print(
        f"removed {freed['blobs_removed']} unreferenced blob(s) and "
        f"{freed['temp_files_removed']} temp file(s), freed {megabytes(freed['bytes_freed'])}"
    )


# --- formatting --------------------------------------------------------------------


def _verify_summary(report: VerifyReport) -> str:
    """One line per problem, then one line counting what was checked and found."""
    lines = []
    for problem in report.problems:
        refs = f"{', '.join(problem.refs)}: " if problem.refs else ""
        lines.append(f"{problem.kind}: {refs}{problem.path}: {problem.detail}")
    summary = f"verified {report.artifacts_checked} artifact(s), {report.blobs_checked} blob(s): "
    if report.ok:
        return summary + "no problems"
    counts = report.counts()
    summary += ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    if counts["orphan"] or counts["temp"]:
        summary += " (edgebatch-registry gc removes orphan blobs and temp files)"
    return "\n".join([*lines, summary])


def _describe(artifact: Artifact) -> str:
    fields = {
        "sha256": artifact.sha256,
        "size": f"{megabytes(artifact.size_bytes)} ({artifact.size_bytes} bytes)",
        "created": artifact.created_at,
        "aliases": ", ".join(artifact.aliases) or "-",
        "tags": ", ".join(artifact.tags) or "-",
        "description": artifact.description or "-",
        "path": str(artifact.path),
        "run": artifact.run_id or "-",
        **{f"report.{key}": path for key, path in artifact.report_paths.items()},
    }
    sections = {
        "metrics": {key: _value(value) for key, value in artifact.metrics.items()},
        "tool versions": artifact.tool_versions,
        "recipe": {path: _value(value) for path, value in flatten(artifact.recipe).items()},
    }
    lines = [artifact.ref, *_pairs(fields)]
    for title, pairs in sections.items():
        lines += ["", f"{title}:", *_pairs(pairs)]
    return "\n".join(lines)


def _pairs(pairs: dict[str, Any]) -> list[str]:
    width = max((len(key) for key in pairs), default=0)
    return [f"  {key.ljust(width)}  {value}" for key, value in pairs.items()]


def _table(header: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "(none)"
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
        for row in [header, *rows]
    )


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _signed(value: float | int) -> str:
    return f"{value:+.4g}" if isinstance(value, float) else f"{value:+d}"


def _change(delta: dict[str, Any], signed: Callable[[Any], str] = _signed) -> str:
    """'+0.05, +12.0%' for numbers, '=' or 'changed' for anything else."""
    if delta["delta"] is None:
        return "=" if delta["a"] == delta["b"] else "changed"
    change = signed(delta["delta"])
    return change if delta["relative"] is None else f"{change}, {delta['relative']:+.1%}"


def _signed_size(n_bytes: int) -> str:
    return ("+" if n_bytes >= 0 else "") + megabytes(n_bytes)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


if __name__ == "__main__":
    sys.exit(main())
