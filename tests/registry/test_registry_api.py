"""The Registry API on a real index (SQLite, and PostgreSQL for tests marked postgres) and
blob store."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from edgebatch.errors import CorruptBlobError, RegistryError
from edgebatch.registry import Problem, Registry, parse_ref, tables
from edgebatch.registry.migrations import schema_version
from edgebatch.registry.refs import Ref
from edgebatch.registry.store import DirectoryBlobStore


def test_versions_increment_per_name(registry, put):
    a1 = put("resnet18", "one")
    a2 = put("resnet18", "two")
    b1 = put("mobilenet_v2", "three")

    assert (a1.version, a2.version, b1.version) == (1, 2, 1)
    assert registry.get("resnet18") == a2
    assert [a.ref for a in registry.list()] == ["mobilenet_v2@1", "resnet18@1", "resnet18@2"]
    assert [a.ref for a in registry.list("resnet18")] == ["resnet18@1", "resnet18@2"]


def test_put_stores_everything_it_is_given(registry, tmp_path, tflite_bytes):
    data = tflite_bytes("model")
    source = tmp_path / "model.tflite"
    source.write_bytes(data)
    metrics = {"max_abs_error": 2.5e-6, "num_ops": 42, "verdict": "pass", "latency_ms": None}
    recipe = {"model": {"_target_": "model_zoo.resnet18"}, "signatures": [{"name": "default"}]}

    artifact = registry.put(
        "resnet18",
        source,
        recipe=recipe,
        metrics=metrics,
        tool_versions={"torch": "2.14.1"},
        run_id="run-1",
        report_paths={"html": tmp_path / "report.html"},
    )

    assert artifact.sha256 == hashlib.sha256(data).hexdigest()
    assert artifact.size_bytes == len(data)
    assert artifact.path.read_bytes() == data
    assert artifact.path == registry.store.root / artifact.sha256[:2] / f"{artifact.sha256}.tflite"
    assert artifact.metrics == metrics
    assert [type(v) for v in artifact.metrics.values()] == [float, int, str, type(None)]
    assert artifact.recipe == recipe
    assert artifact.tool_versions == {"torch": "2.14.1"}
    assert artifact.run_id == "run-1"
    assert artifact.report_paths == {"html": str(tmp_path / "report.html")}
    assert datetime.fromisoformat(artifact.created_at).tzinfo == timezone.utc
    assert Registry(registry.root, url=registry.url).get("resnet18@1") == artifact  # reopens


def test_the_default_index_is_sqlite_in_wal_mode_in_the_root(tmp_path):
    registry = Registry(tmp_path / "registry")
    assert registry.url == f"sqlite:///{tmp_path / 'registry' / 'index.sqlite'}"
    db = sqlite3.connect(registry.root / "index.sqlite")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        db.close()
    assert names == {"schema_version", "artifacts", "artifact_metrics", "aliases", "run_records",
                     "artifact_tags", "deleted_versions"}


def test_putting_the_latest_bytes_again_adds_no_version(registry, put):
    first = put("resnet18", "same", metrics={"latency_ms": 4.0})
    again = put("resnet18", "same", metrics={"latency_ms": 5.0}, run_id="run-2")

    assert (first.version, first.unchanged) == (1, False)
    assert (again.version, again.unchanged) == (1, True)
    assert again == first  # the stored version, as it was registered
    assert [a.ref for a in registry.list()] == ["resnet18@1"]
    assert "unchanged" not in again.to_dict()


def test_earlier_bytes_make_a_new_version_that_shares_the_blob(registry, put):
    a1, b, a2 = put("resnet18", "A"), put("resnet18", "B"), put("resnet18", "A")
    other_name = put("resnet18_copy", "A")

    assert [a.version for a in (a1, b, a2)] == [1, 2, 3]
    assert not any(a.unchanged for a in (a1, b, a2, other_name))
    assert a1.path == a2.path == other_name.path != b.path
    assert len(list(registry.store.blobs())) == 2


def test_putting_the_same_bytes_repairs_a_damaged_blob(registry, put, tflite_bytes):
    artifact = put("resnet18", "one")
    artifact.path.write_bytes(tflite_bytes("two"))  # same size, other bytes

    assert put("resnet18", "one").unchanged
    assert artifact.path.read_bytes() == tflite_bytes("one")
    artifact.path.unlink()
    put("resnet18", "one")
    assert registry.verify().ok


def test_put_rejects_bad_input_and_stores_nothing(registry, put, tmp_path, tflite_bytes):
    with pytest.raises(RegistryError, match="not a TFLite flatbuffer"):
        registry.put("resnet18", b"garbage!", recipe={}, metrics={}, tool_versions={})
    with pytest.raises(RegistryError, match="bad artifact name"):
        put("resnet 18", "x")
    with pytest.raises(RegistryError, match="cannot read"):
        registry.put("resnet18", tmp_path / "nope.tflite", recipe={}, metrics={}, tool_versions={})
    with pytest.raises(RegistryError, match="recipe must be JSON-serializable"):
        put("resnet18", "x", recipe={"fn": print})
    assert registry.list() == []


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("resnet18", Ref("resnet18")),
        ("resnet18@3", Ref("resnet18", version=3)),
        ("resnet18@baseline", Ref("resnet18", alias="baseline")),
        ("resnet18@latest", Ref("resnet18")),
        ("vit_b_16.int8-v2@12", Ref("vit_b_16.int8-v2", version=12)),
    ],
)
def test_parse_ref(text, ref):
    assert parse_ref(text) == ref


@pytest.mark.parametrize(
    "text", ["", "@1", "resnet18@", "resnet18@0", "a@b@c", "res net", "a@-x", "../a"]
)
def test_parse_ref_rejects_malformed(text):
    with pytest.raises(RegistryError, match="bad artifact reference"):
        parse_ref(text)


def test_get_resolves_every_kind_of_ref(registry, put):
    put("resnet18", "one")
    put("resnet18", "two")
    registry.set_alias("resnet18", 1, "baseline")

    assert registry.get("resnet18").version == 2
    assert registry.get("resnet18@latest").version == 2
    assert registry.get("resnet18@1").version == 1
    assert registry.get("resnet18@baseline").version == 1
    assert registry.get(Ref("resnet18", version=1)).version == 1


def test_get_unknown_names_the_alternatives(registry, put):
    put("resnet18", "one")
    registry.set_alias("resnet18", 1, "baseline")

    with pytest.raises(RegistryError, match=r"no artifact named 'vit'.*names: resnet18"):
        registry.get("vit")
    with pytest.raises(RegistryError, match=r"resnet18 has no version 7 \(versions: 1-1\)"):
        registry.get("resnet18@7")
    with pytest.raises(RegistryError, match=r"no alias 'production' \(aliases: baseline\)"):
        registry.get("resnet18@production")


def test_listings_sort_by_code_point_on_every_database(registry, put):
    names = ["beta", "Zeta", "alpha", "b_2", "b.1"]
    for name in names:
        put(name, name)
        registry.set_alias(name, 1, name.replace(".", "_"))  # aliases cannot start with a digit

    assert [a.name for a in registry.list()] == sorted(names)  # Zeta first, as in SQLite
    assert registry.get("b.1@b_1").ref == "b.1@1"
    registry.set_alias("alpha", 1, "Zulu")
    assert list(registry.aliases("alpha")) == ["Zulu", "alpha"]


def test_aliases_move_and_are_per_name(registry, put):
    put("resnet18", "one")
    put("resnet18", "two")
    put("vit", "three")

    registry.set_alias("resnet18", 1, "baseline")
    registry.set_alias("vit", 1, "baseline")
    assert registry.get("resnet18@1").aliases == ["baseline"]

    registry.set_alias("resnet18", 2, "baseline")
    registry.set_alias("resnet18", 2, "production")
    assert registry.aliases("resnet18") == {"baseline": 2, "production": 2}
    assert registry.aliases("vit") == {"baseline": 1}
    assert registry.get("resnet18@1").aliases == []
    assert registry.get("resnet18@baseline").aliases == ["baseline", "production"]


def test_set_alias_rejects_bad_targets(registry, put):
    put("resnet18", "one")
    with pytest.raises(RegistryError, match=r"no artifact resnet18@5"):
        registry.set_alias("resnet18", 5, "baseline")
    for alias in ("3", "latest", "has space"):
        with pytest.raises(RegistryError, match="bad alias"):
            registry.set_alias("resnet18", 1, alias)


def test_diff(registry, put):
    put(
        "resnet18",
        "one",
        metrics={"max_abs_error": 1e-6, "latency_ms": 4.0, "num_ops": 40, "verdict": "pass"},
        recipe={"quant": {"mode": "none"}, "layout": ["nchw"], "seed": 0},
        tool_versions={"torch": "2.14.1", "tensorflow": "2.21.0"},
    )
    put(
        "resnet18",
        "two-bytes-longer",
        metrics={"max_abs_error": 3e-6, "latency_ms": 3.0, "num_ops": 42, "verdict": "fail"},
        recipe={"quant": {"mode": "drq", "bits": 8}, "layout": ["nhwc"], "seed": 0},
        tool_versions={"torch": "2.14.1", "tensorflow": "2.22.0"},
    )
    put("resnet18", "three", metrics={"latency_ms": 0.0})

    diff = registry.diff("resnet18@1", "resnet18@2")

    assert diff["a"] == "resnet18@1" and diff["b"] == "resnet18@2"
    assert diff["same_bytes"] is False
    assert diff["size_bytes"]["delta"] == len("two-bytes-longer") - len("one")
    metrics = diff["metrics"]
    assert metrics["max_abs_error"]["delta"] == pytest.approx(2e-6)
    assert metrics["max_abs_error"]["relative"] == pytest.approx(2.0)
    assert metrics["latency_ms"] == {"a": 4.0, "b": 3.0, "delta": -1.0, "relative": -0.25}
    assert metrics["num_ops"] == {"a": 40, "b": 42, "delta": 2, "relative": 0.05}
    assert metrics["verdict"] == {"a": "pass", "b": "fail", "delta": None, "relative": None}
    assert diff["recipe"] == {
        "layout.0": {"a": "nchw", "b": "nhwc"},
        "quant.bits": {"a": None, "b": 8},
        "quant.mode": {"a": "none", "b": "drq"},
    }
    assert diff["tool_versions"] == {"tensorflow": {"a": "2.21.0", "b": "2.22.0"}}
    assert registry.diff("resnet18@1", "resnet18@1")["same_bytes"] is True

    from_zero = registry.diff("resnet18@3", "resnet18@2")["metrics"]
    assert from_zero["latency_ms"] == {"a": 0.0, "b": 3.0, "delta": 3.0, "relative": None}
    assert from_zero["num_ops"] == {"a": None, "b": 42, "delta": None, "relative": None}


def test_export_copies_atomically(registry, put, tmp_path):
    artifact = put("resnet18", "one")
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    file_path = registry.export("resnet18", out_dir / "model.tflite")
    dir_path = registry.export("resnet18@1", out_dir)

    assert file_path.read_bytes() == dir_path.read_bytes() == artifact.path.read_bytes()
    assert dir_path == out_dir / "resnet18@1.tflite"
    assert sorted(p.name for p in out_dir.iterdir()) == ["model.tflite", "resnet18@1.tflite"]


def test_export_refuses_a_corrupt_or_missing_blob(registry, put, tmp_path, tflite_bytes):
    artifact = put("resnet18", "one")
    artifact.path.write_bytes(tflite_bytes("tampered"))
    tampered_sha = hashlib.sha256(tflite_bytes("tampered")).hexdigest()
    expected = (
        f"blob for resnet18@1 is corrupt: sha256 {tampered_sha}, expected {artifact.sha256}; "
        "run edgebatch-registry verify"
    )
    with pytest.raises(CorruptBlobError) as error:
        registry.export("resnet18", tmp_path / "model.tflite")
    assert str(error.value) == expected

    artifact.path.unlink()
    with pytest.raises(CorruptBlobError, match=r"blob for resnet18@1 is missing: .*; run edgebatch"):
        registry.export("resnet18", tmp_path / "model.tflite")
    assert not (tmp_path / "model.tflite").exists()


def test_open_finds_an_existing_registry(registry, put):
    put("resnet18", "one")
    assert Registry.open(registry.root, url=registry.url).get("resnet18").version == 1


def test_open_refuses_a_missing_root_or_index_and_creates_nothing(tmp_path):
    with pytest.raises(RegistryError, match=f"no registry at {tmp_path / 'typo'}: no such dir"):
        Registry.open(tmp_path / "typo")
    assert not (tmp_path / "typo").exists()
    (tmp_path / "plain").mkdir()
    with pytest.raises(RegistryError, match="no registry at .*plain: the directory has no index"):
        Registry.open(tmp_path / "plain")
    assert list((tmp_path / "plain").iterdir()) == []


def test_verify_a_sound_registry(registry, put):
    put("resnet18", "one")
    put("resnet18", "two")
    put("resnet18_copy", "one")

    report = registry.verify()

    assert report.ok and report.problems == []
    assert (report.artifacts_checked, report.blobs_checked) == (3, 2)


# Each damages a fresh registry in one way and returns (path, detail, refs) of the problem.


def _corrupt(registry, put, tflite_bytes):
    path = put("resnet18", "one").path
    path.write_bytes(tflite_bytes("tampered"))
    actual = hashlib.sha256(tflite_bytes("tampered")).hexdigest()
    expected = hashlib.sha256(tflite_bytes("one")).hexdigest()
    return path, f"sha256 {actual}, expected {expected}", ["resnet18@1"]


def _not_tflite(registry, put, tflite_bytes):
    data = b"not a flatbuffer"
    sha256 = hashlib.sha256(data).hexdigest()
    path = registry.store.path(sha256)
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    # A row put() would refuse, as a hand-edited index may hold.
    with registry.database.write() as db:
        db.execute(
            sa.insert(tables.artifacts).values(
                name="junk", version=1, sha256=sha256, size_bytes=16, created_at="",
                recipe="{}", tool_versions="{}", report_paths="{}",
            )
        )
    return path, "not a TFLite flatbuffer", ["junk@1"]


def _missing(registry, put, tflite_bytes):
    path = put("resnet18", "one").path
    put("resnet18", "two")
    put("resnet18", "one")
    path.unlink()
    return path, "no such file", ["resnet18@1", "resnet18@3"]


def _orphan(registry, put, tflite_bytes):
    sha256 = registry.store.put(tflite_bytes("orphan"))  # a put that died before its commit
    return registry.store.path(sha256), "no artifact uses this blob", []


def _temp(registry, put, tflite_bytes):
    blob = put("resnet18", "one").path
    path = blob.parent / f".{blob.name}.abc123.tmp"  # a write that died before its rename
    path.write_bytes(b"partial")
    return path, "left by an interrupted write", []


@pytest.mark.parametrize(
    ("kind", "damage"),
    [
        ("corrupt", _corrupt),
        ("corrupt", _not_tflite),
        ("missing", _missing),
        ("orphan", _orphan),
        ("temp", _temp),
    ],
)
def test_verify_reports_each_kind_of_problem(registry, put, tflite_bytes, kind, damage):
    path, detail, refs = damage(registry, put, tflite_bytes)

    report = registry.verify()

    assert not report.ok
    assert report.problems == [Problem(kind, path, detail, refs)]
    assert report.counts()[kind] == 1 and sum(report.counts().values()) == 1
    assert report.to_dict()["problems"] == [
        {"kind": kind, "path": str(path), "detail": detail, "refs": refs}
    ]


def test_gc_removes_orphan_blobs_and_temp_files(registry, put, tflite_bytes):
    kept = put("resnet18", "kept")
    orphan_sha = registry.store.put(tflite_bytes("orphan"))  # a put that died before its commit
    temp = kept.path.parent / f".{kept.path.name}.abc123.tmp"  # a write that died before its rename
    temp.write_bytes(b"partial")

    assert registry.gc() == {
        "blobs_removed": 1,
        "temp_files_removed": 1,
        "bytes_freed": len(tflite_bytes("orphan")) + len(b"partial"),
    }
    assert not registry.store.path(orphan_sha).exists()
    assert not temp.exists()
    assert kept.path.read_bytes() == tflite_bytes("kept")
    assert registry.gc() == {"blobs_removed": 0, "temp_files_removed": 0, "bytes_freed": 0}


def _record(registry, run_id, status, finished_at, version=None, **errors):
    return registry.record_run(
        run_id,
        "resnet18",
        status=status,
        stage=errors.get("stage"),
        error_class=errors.get("error_class"),
        error_signature=errors.get("error_signature"),
        error_message=errors.get("error_message"),
        artifact_version=version,
        started_at=finished_at,
        finished_at=finished_at,
        config={"quant": "drq"},
    )


def test_runs_record_failures_and_last_good(registry):
    assert registry.last_good("resnet18") is None
    _record(registry, "r1", "ok", "2025-01-01T00:00:00+00:00", version=1)
    _record(registry, "r2", "ok", datetime(2025, 1, 2, tzinfo=timezone.utc), version=2)
    failed = _record(
        registry,
        "r3",
        "failed",
        "2025-01-03T00:00:00+00:00",
        stage="convert",
        error_class="UnsupportedOpError",
        error_signature="deadbeef",
        error_message="no lowering for aten.foo",
    )

    runs = registry.runs("resnet18")
    assert [run.run_id for run in runs] == ["r3", "r2", "r1"]
    assert runs[0] == failed
    assert runs[0].error_class == "UnsupportedOpError" and runs[0].config == {"quant": "drq"}
    assert runs[1].finished_at == "2025-01-02T00:00:00.000+00:00"
    assert registry.last_good("resnet18").artifact_version == 2
    assert [run.run_id for run in registry.runs(limit=1)] == ["r3"]
    assert registry.runs("vit") == []

    _record(registry, "r3", "ok", "2025-01-03T00:00:00+00:00", version=3)  # same run_id replaces
    assert len(registry.runs("resnet18")) == 3
    assert registry.last_good("resnet18").artifact_version == 3

    with pytest.raises(RegistryError, match="run status must be one of"):
        _record(registry, "r4", "crashed", "2025-01-04T00:00:00+00:00")


def test_runs_that_finished_at_once_come_latest_recorded_first(registry):
    for run_id in ("r2", "r1", "r3"):
        _record(registry, run_id, "ok", "2025-01-01T00:00:00+00:00")
    _record(registry, "r0", "ok", None)  # unfinished: last, however recent
    assert [run.run_id for run in registry.runs("resnet18")] == ["r3", "r1", "r2", "r0"]

    _record(registry, "r1", "failed", "2025-01-01T00:00:00+00:00")  # recorded again
    assert [run.run_id for run in registry.runs("resnet18")] == ["r1", "r3", "r2", "r0"]


# --- the index behind a URL -------------------------------------------------------------


def test_an_index_written_before_database_urls_opens_migrated(tmp_path, tflite_bytes):
    root = tmp_path / "registry"
    blob = DirectoryBlobStore(root / "blobs").put(tflite_bytes("legacy"))
    db = sqlite3.connect(root / "index.sqlite")
    db.executescript((Path(__file__).parent / "legacy_v1_index.sql").read_text())
    db.close()

    registry = Registry.open(root)

    artifact = registry.get("resnet18@baseline")
    assert artifact.sha256 == blob and artifact.recipe == {"quant": {"mode": "drq"}}
    assert artifact.metrics == {
        "max_abs_error": 2.5e-6, "num_ops": 42, "verdict": "pass", "latency_ms": None
    }
    assert [type(v) for v in artifact.metrics.values()] == [float, int, str, type(None)]
    assert [run.run_id for run in registry.runs("resnet18")] == ["run-0", "run-1"]  # newest first
    assert registry.last_good("resnet18").config == {"quant": "drq"}
    assert registry.last_good("resnet18").job_key is None  # runs before version 4 have none
    assert registry.verify().ok
    assert registry.put("resnet18", tflite_bytes("new"), recipe={}, metrics={"n": 1},
                        tool_versions={}).version == 2
    assert schema_version(registry.database) == tables.SCHEMA_VERSION
    assert set(sa.inspect(registry.database.engine).get_table_names()) == {
        "schema_version", "artifacts", "artifact_metrics", "aliases", "run_records",
        "artifact_tags", "deleted_versions",
    }
    assert registry.describe("resnet18@2", "after the upgrade").description == "after the upgrade"


def test_a_version_3_index_gets_run_job_keys(registry):
    _record(registry, "before", "ok", "2025-01-01T00:00:00+00:00")
    with registry.database.write() as db:
        db.execute(sa.text("ALTER TABLE run_records DROP COLUMN job_key"))
        db.execute(sa.update(tables.schema_version).values(version=3))

    upgraded = Registry(registry.root, url=registry.url)

    assert schema_version(upgraded.database) == tables.SCHEMA_VERSION == 4
    assert upgraded.last_good("resnet18").job_key is None
    upgraded.record_run("after", "resnet18", status="ok", stage=None, error_class=None,
                        error_signature=None, error_message=None, artifact_version=None,
                        started_at=None, finished_at="2025-01-02T00:00:00+00:00", config={},
                        job_key="abc123")
    assert [(r.run_id, r.job_key) for r in upgraded.runs("resnet18")] == [
        ("after", "abc123"), ("before", None)]


def test_an_index_of_a_newer_schema_is_refused(registry):
    with registry.database.write() as db:
        db.execute(sa.update(tables.schema_version).values(version=99))
    with pytest.raises(RegistryError, match=r"schema version 99, newer than this edgebatch knows"
                                            r" \(4\): upgrade edgebatch"):
        Registry(registry.root, url=registry.url)


def test_an_index_outside_the_root(tmp_path):
    url = f"sqlite:///{tmp_path / 'index.db'}"
    registry = Registry(tmp_path / "root", url=url)
    registry.put("resnet18", b"\x1c\x00\x00\x00TFL3one", recipe={}, metrics={}, tool_versions={})

    assert Registry.open(tmp_path / "root", url=url).get("resnet18").version == 1
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == ["blobs", "registry.lock"]
    missing = f"sqlite:///{tmp_path / 'typo.db'}"
    with pytest.raises(RegistryError, match=f"no registry at .*root: no such file: {missing}"):
        Registry.open(tmp_path / "root", url=missing)
    assert not (tmp_path / "typo.db").exists()


@pytest.mark.postgres
def test_open_refuses_a_postgresql_database_without_an_index(tmp_path, postgres_url):
    (tmp_path / "root").mkdir()
    shown = sa.make_url(postgres_url).render_as_string(hide_password=True)
    with pytest.raises(RegistryError) as error:
        Registry.open(tmp_path / "root", url=postgres_url)
    expected = f"no registry at {tmp_path / 'root'}: {shown} holds no registry index"
    assert str(error.value) == expected
    assert sa.inspect(sa.create_engine(postgres_url)).get_table_names() == []
    assert list((tmp_path / "root").iterdir()) == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@host/db", "unsupported registry URL mysql://u@host/db: use sqlite:///PATH"),
        ("sqlite://", "registry URL sqlite:// names no SQLite file"),
        ("no url", "bad registry URL 'no url'"),
    ],
)
def test_bad_urls_are_registry_errors_and_create_nothing(tmp_path, url, message):
    with pytest.raises(RegistryError, match=re.escape(message)):
        Registry(tmp_path / "registry", url=url)
    assert list(tmp_path.iterdir()) == []


def test_a_server_that_does_not_answer_is_one_line_without_the_password(tmp_path):
    url = "postgresql://edgebatch:s3cret@127.0.0.1:1/registry"  # port 1: connection refused
    with pytest.raises(RegistryError) as error:
        Registry(tmp_path / "registry", url=url)
    message = str(error.value)
    assert message.startswith("registry index postgresql://edgebatch:***@127.0.0.1:1/registry: ")
    assert "s3cret" not in message and "\n" not in message
