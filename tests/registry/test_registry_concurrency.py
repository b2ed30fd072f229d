"""Parallel writers and killed writers, with real processes and a real SQLite file."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import time

import pytest

from edgebatch.registry import Registry

# fork: the children reuse the parent's imports instead of paying for them again.
FORK = multiprocessing.get_context("fork")
HEADER = b"\x1c\x00\x00\x00TFL3"
PUTS_PER_WRITER = 20


def _write_many(root, writer, barrier):
    barrier.wait()  # both processes also create the fresh registry at once
    registry = Registry(root)
    for i in range(PUTS_PER_WRITER):
        # Every 5th put has the same bytes in both writers, under each writer's own name:
        # one blob, written by both at once.
        shared = i % 5 == 0
        registry.put(
            f"copy_{writer}" if shared else "resnet18",
            HEADER + (f"shared-{i}" if shared else f"{writer}-{i}").encode() * 1000,
            recipe={"writer": writer},
            metrics={"writer": writer, "i": i},
            tool_versions={},
        )


def _put_once(root, barrier, unchanged):
    registry = Registry(root)
    barrier.wait()
    artifact = registry.put("resnet18", HEADER + b"same", recipe={}, metrics={}, tool_versions={})
    unchanged.put(artifact.unchanged)


def _write_forever(root):
    registry = Registry(root)
    while True:
        registry.put("big", HEADER + os.urandom(16 << 20), recipe={}, metrics={}, tool_versions={})


def _assert_intact(registry):
    for artifact in registry.list():
        assert hashlib.sha256(artifact.path.read_bytes()).hexdigest() == artifact.sha256
        assert artifact.path.stat().st_size == artifact.size_bytes


@pytest.mark.timeout(60)
def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    root = tmp_path / "registry"
    barrier = FORK.Barrier(2)
    writers = [FORK.Process(target=_write_many, args=(root, w, barrier)) for w in ("a", "b")]
    for process in writers:
        process.start()
    for process in writers:
        process.join()
    assert [process.exitcode for process in writers] == [0, 0]

    registry = Registry(root)
    unshared = [i for i in range(PUTS_PER_WRITER) if i % 5]
    artifacts = registry.list("resnet18")
    assert [a.version for a in artifacts] == list(range(1, 2 * len(unshared) + 1))
    written = {(a.metrics["writer"], a.metrics["i"]) for a in artifacts}
    assert written == {(w, i) for w in ("a", "b") for i in unshared}
    copies = {w: registry.list(f"copy_{w}") for w in ("a", "b")}
    assert [a.sha256 for a in copies["a"]] == [a.sha256 for a in copies["b"]]
    assert len(list(registry.store.blobs())) == len(artifacts) + len(copies["a"])
    _assert_intact(registry)


@pytest.mark.timeout(60)
def test_the_same_bytes_put_by_many_processes_at_once_make_one_version(tmp_path):
    root = tmp_path / "registry"
    Registry(root)
    writers = 4
    barrier, unchanged = FORK.Barrier(writers), FORK.Queue()
    processes = [
        FORK.Process(target=_put_once, args=(root, barrier, unchanged)) for _ in range(writers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    assert [process.exitcode for process in processes] == [0] * writers

    assert sorted(unchanged.get() for _ in range(writers)) == [False] + [True] * (writers - 1)
    assert [a.ref for a in Registry(root).list()] == ["resnet18@1"]


def _wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"


@pytest.mark.timeout(60)
def test_kill_9_during_a_write_leaves_no_visible_partial_artifact(tmp_path):
    root = tmp_path / "registry"
    registry = Registry(root)

    def temp_files():
        return list(registry.store.temp_files())

    for _attempt in range(5):  # until the kill lands between a temp file's creation and its rename
        writer = FORK.Process(target=_write_forever, args=(root,))
        writer.start()
        versions_before = len(registry.list())
        _wait_for(lambda: len(registry.list()) > versions_before)  # at least one complete put
        _wait_for(temp_files)  # a blob is being written now
        os.kill(writer.pid, signal.SIGKILL)
        writer.join()
        assert writer.exitcode == -signal.SIGKILL
        if temp_files():
            break
    else:
        pytest.fail("never caught the writer mid-write")

    _assert_intact(registry)
    assert [a.version for a in registry.list()] == list(range(1, len(registry.list()) + 1))

    assert registry.gc()["temp_files_removed"] >= 1
    assert temp_files() == []
    _assert_intact(registry)
    after = registry.put("big", HEADER + b"after", recipe={}, metrics={}, tool_versions={})
    assert after.version == len(registry.list())
