"""The `edgebatch-registry` command line, in-process via main() and as a real subprocess.

A subprocess pays for importing torch (a few seconds), so those tests are the few where
the exit status and stderr of the real command are the point. With a PostgreSQL index the
commands find it through $EDGEBATCH_REGISTRY_URL (set by the `cli_env` fixture).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from edgebatch.registry import Registry
from edgebatch.registry.cli import ENV_URL, main


@pytest.fixture
def cli_env(index_url, monkeypatch):
    """Point the commands at the registry's index: nothing for the default SQLite file,
    $EDGEBATCH_REGISTRY_URL for a PostgreSQL database."""
    monkeypatch.delenv(ENV_URL, raising=False)
    if index_url is not None:
        monkeypatch.setenv(ENV_URL, index_url)


@pytest.fixture
def root(registry, put, cli_env):
    metrics = {"max_abs_error": 1e-6, "num_ops": 40}
    put("resnet18", "one", metrics=metrics, recipe={"quant": {"mode": "none"}})
    metrics = {"max_abs_error": 2e-6, "num_ops": 38}
    put("resnet18", "two", metrics=metrics, recipe={"quant": {"mode": "drq"}})
    put("vit_b_16", "three", tool_versions={"torch": "2.14.1"})
    return str(registry.root)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def edgebatch_registry(*argv: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("edgebatch-registry")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "edgebatch.registry.cli"]
    return subprocess.run([*command, *argv], capture_output=True, text=True, timeout=120)


def assert_one_error_line(stderr: str, message: str) -> None:
    assert stderr.startswith("edgebatch-registry: error: ") and message in stderr
    assert stderr.count("\n") == 1  # no traceback


def test_list(root, capsys):
    code, out, _ = run(capsys, "--root", root, "list")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["NAME", "VERSION", "SIZE", "SHA256", "CREATED", "ALIASES", "TAGS"]
    rows = [line.split()[:2] for line in lines[1:]]
    assert rows == [["resnet18", "1"], ["resnet18", "2"], ["vit_b_16", "1"]]

    code, out, _ = run(capsys, "--root", root, "list", "vit_b_16", "--json")
    (artifact,) = json.loads(out)
    assert artifact["name"] == "vit_b_16" and artifact["tool_versions"] == {"torch": "2.14.1"}


def test_list_empty_registry(tmp_path, index_url, cli_env, capsys):
    root = Registry(tmp_path / "empty", url=index_url).root
    assert run(capsys, "--root", str(root), "list") == (0, "(none)\n", "")


def test_show(root, capsys):
    code, out, _ = run(capsys, "--root", root, "show", "resnet18@1")
    assert code == 0
    assert out.splitlines()[0] == "resnet18@1"
    assert "max_abs_error  1e-06" in out
    assert "quant.mode  none" in out

    code, out, _ = run(capsys, "--root", root, "show", "resnet18", "--json")
    assert json.loads(out)["version"] == 2


def test_show_ops_gives_the_histogram_and_the_xnnpack_partitions(registry, cli_env, capsys):
    import torch

    import edgebatch

    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten())
    registry.put("small_cnn", edgebatch.convert(module.eval(), (torch.randn(1, 3, 8, 8),)).flatbuffer,
                 recipe={}, metrics={}, tool_versions={})
    code, out, _ = run(capsys, "--root", str(registry.root), "show", "small_cnn", "--ops")
    assert code == 0
    assert "CONV_2D" in out and "XNNPACK partitions: 1" in out
    code, out, _ = run(capsys, "--root", str(registry.root), "show", "small_cnn", "--ops", "--json")
    ops = json.loads(out)["ops"]
    assert ops["histogram"]["CONV_2D"] == 1 and ops["xnnpack_partitions"] == 1


def test_explore_without_model_explorer_says_how_to_get_it(root, capsys):
    code, _, err = run(capsys, "--root", root, "show", "resnet18", "--explore")
    assert code == 2
    assert_one_error_line(err, "pip install 'edgebatch[viz]'")


def test_diff(root, capsys):
    code, out, _ = run(capsys, "--root", root, "diff", "resnet18@1", "resnet18@2")
    assert code == 0
    assert "resnet18@1 -> resnet18@2: different bytes" in out
    assert "+1e-06, +100.0%" in out
    assert "quant.mode: none -> drq" in out
    assert "tool_versions: no changes" in out

    code, out, _ = run(capsys, "--root", root, "diff", "resnet18@1", "resnet18@2", "--json")
    num_ops = json.loads(out)["metrics"]["num_ops"]
    assert num_ops == {"a": 40, "b": 38, "delta": -2, "relative": -0.05}


def test_alias_then_resolve(root, capsys):
    assert run(capsys, "--root", root, "alias", "resnet18@1", "baseline")[:2] == (
        0,
        "resnet18@baseline -> resnet18@1\n",
    )
    code, out, _ = run(capsys, "--root", root, "show", "resnet18@baseline", "--json")
    assert json.loads(out)["version"] == 1


def test_export(root, registry, tmp_path, capsys):
    target = tmp_path / "model.tflite"
    code, out, _ = run(capsys, "--root", root, "export", "resnet18@2", str(target))
    assert code == 0 and out.strip() == str(target)
    assert target.read_bytes() == registry.get("resnet18@2").path.read_bytes()


def test_export_into_a_directory_writes_name_at_version(root, registry, tmp_path, capsys):
    code, out, _ = run(capsys, "--root", root, "export", "resnet18@1", f"{tmp_path}/models/")
    target = tmp_path / "models" / "resnet18@1.tflite"
    assert code == 0 and out.strip() == str(target)
    assert target.read_bytes() == registry.get("resnet18@1").path.read_bytes()


def test_tags_and_description_show_in_list_and_show(root, capsys):
    assert run(capsys, "--root", root, "tag", "resnet18@1", "candidate", "ticket-7") == (
        0, "resnet18@1 tags: candidate, ticket-7\n", "")
    assert run(capsys, "--root", root, "tag", "resnet18@1", "ticket-7", "--remove")[1] == (
        "resnet18@1 tags: candidate\n")
    assert run(capsys, "--root", root, "describe", "resnet18", "drq, for the demo")[1] == (
        "resnet18@2: drq, for the demo\n")
    listed = run(capsys, "--root", root, "list")[1].splitlines()
    assert listed[0].split()[-1] == "TAGS" and listed[1].endswith("candidate")
    shown = run(capsys, "--root", root, "show", "resnet18@2")[1]
    assert "description  drq, for the demo" in shown
    assert json.loads(run(capsys, "--root", root, "show", "resnet18@1", "--json")[1])["tags"] == [
        "candidate"]


def test_unalias(root, capsys):
    run(capsys, "--root", root, "alias", "resnet18@1", "baseline")
    assert run(capsys, "--root", root, "unalias", "resnet18", "baseline") == (
        0, "removed resnet18@baseline (was resnet18@1)\n", "")
    code, out, err = run(capsys, "--root", root, "unalias", "resnet18", "baseline")
    assert code == 2 and out == ""
    assert_one_error_line(err, "resnet18 has no alias 'baseline'")


def test_delete_refuses_an_aliased_version_without_force(root, registry, put, capsys):
    run(capsys, "--root", root, "alias", "resnet18@2", "production")
    code, out, err = run(capsys, "--root", root, "delete", "resnet18@2")
    assert code == 2 and out == ""
    assert_one_error_line(err, "resnet18@2 has alias(es) production")
    assert registry.get("resnet18@production").version == 2

    assert run(capsys, "--root", root, "delete", "resnet18@production", "--force") == (
        0, "deleted resnet18@2 and its alias(es) production; "
           "edgebatch-registry gc frees unreferenced blobs\n", "")
    code, _, err = run(capsys, "--root", root, "show", "resnet18@2")
    assert code == 2
    assert_one_error_line(err, "resnet18@2 was deleted")
    assert registry.get("resnet18").version == 1
    assert put("resnet18", "four").version == 3  # a deleted number is never reused
    assert run(capsys, "--root", root, "gc")[1].startswith("removed 1 unreferenced blob(s)")


def test_runs(root, registry, capsys):
    for run_id, status, finished in [("a", "ok", "2026-01-01T00:00:00Z"),
                                     ("b", "failed", "2026-01-02T00:00:00Z")]:
        registry.record_run(
            run_id, "resnet18", status=status, stage=None if status == "ok" else "convert",
            error_class=None if status == "ok" else "ConversionError", error_signature=None,
            error_message=None, artifact_version=2 if status == "ok" else None,
            started_at=None, finished_at=finished, config={})
    code, out, _ = run(capsys, "--root", root, "runs", "resnet18")
    lines = [line.split() for line in out.splitlines()]
    assert code == 0 and lines[0] == ["FINISHED", "NAME", "STATUS", "ARTIFACT", "ERROR"]
    assert lines[1] == ["2026-01-02T00:00:00Z", "resnet18", "failed", "at", "convert", "-",
                        "ConversionError"]
    assert lines[2] == ["2026-01-01T00:00:00Z", "resnet18", "ok", "resnet18@2"]
    assert len(json.loads(run(capsys, "--root", root, "runs", "--json", "--limit", "1")[1])) == 1


def test_sizes_are_in_megabytes_of_a_million_bytes(registry, put, cli_env, capsys):
    put("big", "x" * 2_500_000)
    listed = run(capsys, "--root", str(registry.root), "list")[1]
    assert " 2.50 MB " in listed


def test_a_closed_pipe_ends_the_command_quietly(root):
    script = Path(sys.executable).with_name("edgebatch-registry")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "edgebatch.registry.cli"]
    process = subprocess.Popen([*command, "--root", root, "show", "resnet18"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the command prints
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0 and err == b""


def test_show_and_export_refuse_a_corrupt_blob(root, registry, tmp_path, tflite_bytes, capsys):
    registry.get("resnet18@2").path.write_bytes(tflite_bytes("tampered"))
    message = "blob for resnet18@2 is corrupt: sha256 "

    shown = edgebatch_registry("--root", root, "show", "resnet18@2")
    assert shown.returncode == 1 and shown.stdout == ""
    assert_one_error_line(shown.stderr, message)
    assert shown.stderr.rstrip().endswith("; run edgebatch-registry verify")

    code, out, err = run(capsys, "--root", root, "export", "resnet18@2", str(tmp_path))
    assert code == 1 and out == ""
    assert_one_error_line(err, message)
    assert not (tmp_path / "resnet18@2.tflite").exists()
    assert run(capsys, "--root", root, "show", "resnet18@1")[0] == 0


def test_verify_a_sound_registry(root, capsys):
    assert run(capsys, "--root", root, "verify") == (
        0, "verified 3 artifact(s), 3 blob(s): no problems\n", ""
    )
    code, out, _ = run(capsys, "--root", root, "verify", "--json")
    assert code == 0
    assert json.loads(out) == {
        "ok": True,
        "artifacts_checked": 3,
        "blobs_checked": 3,
        "counts": {"missing": 0, "corrupt": 0, "orphan": 0, "temp": 0},
        "problems": [],
    }


def test_verify_reports_every_problem_and_exits_1(root, registry, tflite_bytes):
    corrupt, tampered = registry.get("resnet18@1").path, tflite_bytes("tampered")
    corrupt.write_bytes(tampered)
    missing = registry.get("resnet18@2").path
    missing.unlink()
    orphan = registry.store.path(registry.store.put(tflite_bytes("orphan")))

    result = edgebatch_registry("--root", root, "verify")

    assert result.returncode == 1 and result.stderr == ""
    *problems, summary = result.stdout.splitlines()
    assert problems == [
        f"corrupt: resnet18@1: {corrupt}: sha256 {hashlib.sha256(tampered).hexdigest()},"
        f" expected {corrupt.stem}",
        f"missing: resnet18@2: {missing}: no such file",
        f"orphan: {orphan}: no artifact uses this blob",
    ]
    assert summary == (
        "verified 3 artifact(s), 3 blob(s): 1 missing, 1 corrupt, 1 orphan"
        " (edgebatch-registry gc removes orphan blobs and temp files)"
    )


def test_gc(root, registry, tflite_bytes, capsys):
    registry.store.put(tflite_bytes("orphan"))
    code, out, _ = run(capsys, "--root", root, "gc")
    assert code == 0
    assert out.startswith("removed 1 unreferenced blob(s) and 0 temp file(s)")


def test_default_root_from_environment(root, monkeypatch, capsys):
    monkeypatch.setenv("EDGEBATCH_REGISTRY", root)
    code, out, _ = run(capsys, "show", "vit_b_16", "--json")
    assert code == 0 and json.loads(out)["name"] == "vit_b_16"


def test_url_option_wins_over_the_environment(root, registry, monkeypatch, capsys):
    monkeypatch.setenv(ENV_URL, "postgresql://nobody@127.0.0.1:1/nothing")
    code, out, _ = run(capsys, "--root", root, "--url", registry.url, "list", "--json")
    assert code == 0 and len(json.loads(out)) == 3

    code, out, err = run(capsys, "--root", root, "list")
    assert code == 2 and out == ""
    assert_one_error_line(err, "registry index postgresql://nobody@127.0.0.1:1/nothing: ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["show", "missing"], "no artifact named 'missing'"),
        (["show", "resnet18@9"], "resnet18 has no version 9"),
        (["diff", "resnet18", "bad ref"], "bad artifact reference 'bad ref'"),
        (["alias", "resnet18@1", "latest"], "bad alias 'latest'"),
    ],
)
def test_errors_are_one_line_and_exit_2(root, capsys, argv, message):
    code, out, err = run(capsys, "--root", root, *argv)
    assert code == 2 and out == ""
    assert err.startswith("edgebatch-registry: error: ") and message in err
    assert err.count("\n") == 1


def test_a_mistyped_root_exits_2_and_creates_nothing(tmp_path):
    typo = tmp_path / "regsitry"
    result = edgebatch_registry("--root", str(typo), "list")
    assert result.returncode == 2 and result.stdout == ""
    assert_one_error_line(result.stderr, f"no registry at {typo}: no such directory")
    assert not typo.exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["show", "resnet18"],
        ["diff", "resnet18@1", "resnet18@2"],
        ["alias", "resnet18@1", "baseline"],
        ["export", "resnet18", "out.tflite"],
        ["verify"],
        ["gc"],
    ],
)
def test_every_command_needs_an_existing_registry(tmp_path, capsys, argv):
    plain = tmp_path / "plain"
    plain.mkdir()
    for root, reason in [(tmp_path / "typo", "no such directory"),
                         (plain, "the directory has no index.sqlite")]:
        code, out, err = run(capsys, "--root", str(root), *argv)
        assert code == 2 and out == ""
        assert_one_error_line(err, f"no registry at {root}: {reason}")
    assert sorted(tmp_path.iterdir()) == [plain] and list(plain.iterdir()) == []


@pytest.mark.postgres
def test_a_postgresql_database_without_an_index_is_no_registry(tmp_path, postgres_url, capsys):
    shown = sa.make_url(postgres_url).render_as_string(hide_password=True)
    for argv in (["list"], ["verify"], ["gc"]):
        code, out, err = run(capsys, "--root", str(tmp_path), "--url", postgres_url, *argv)
        assert code == 2 and out == ""
        assert_one_error_line(err, f"no registry at {tmp_path}: {shown} holds no registry index")
    assert sa.inspect(sa.create_engine(postgres_url)).get_table_names() == []


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2


def test_module_runs_as_a_command(root):
    result = subprocess.run(
        [sys.executable, "-m", "edgebatch.registry.cli", "--root", root, "list", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert [(a["name"], a["version"]) for a in json.loads(result.stdout)] == [
        ("resnet18", 1),
        ("resnet18", 2),
        ("vit_b_16", 1),
    ]
