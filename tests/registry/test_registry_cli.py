"""The `edgebatch-registry` command line, in-process via main() and once as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edgebatch.registry.cli import main


@pytest.fixture
def root(registry, put):
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


def test_list(root, capsys):
    code, out, _ = run(capsys, "--root", root, "list")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["NAME", "VERSION", "SIZE", "SHA256", "CREATED", "ALIASES"]
    rows = [line.split()[:2] for line in lines[1:]]
    assert rows == [["resnet18", "1"], ["resnet18", "2"], ["vit_b_16", "1"]]

    code, out, _ = run(capsys, "--root", root, "list", "vit_b_16", "--json")
    (artifact,) = json.loads(out)
    assert artifact["name"] == "vit_b_16" and artifact["tool_versions"] == {"torch": "2.14.1"}


def test_list_empty_registry(tmp_path, capsys):
    assert run(capsys, "--root", str(tmp_path / "empty"), "list") == (0, "(none)\n", "")


def test_show(root, capsys):
    code, out, _ = run(capsys, "--root", root, "show", "resnet18@1")
    assert code == 0
    assert out.splitlines()[0] == "resnet18@1"
    assert "max_abs_error  1e-06" in out
    assert "quant.mode  none" in out

    code, out, _ = run(capsys, "--root", root, "show", "resnet18", "--json")
    assert json.loads(out)["version"] == 2


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


def test_gc(root, registry, tflite_bytes, capsys):
    registry.store.put(tflite_bytes("orphan"))
    code, out, _ = run(capsys, "--root", root, "gc")
    assert code == 0
    assert out.startswith("removed 1 unreferenced blob(s) and 0 temp file(s)")


def test_default_root_from_environment(root, monkeypatch, capsys):
    monkeypatch.setenv("EDGEBATCH_REGISTRY", root)
    code, out, _ = run(capsys, "show", "vit_b_16", "--json")
    assert code == 0 and json.loads(out)["name"] == "vit_b_16"


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
