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
        payload = HEADER + (b"shared" if i % 5 == 0 else f"{writer}-{i}".encode()) * 1000
        registry.put(
            "resnet18",
            payload,
            recipe={"writer": writer},
            metrics={"writer": writer, "i": i},
            tool_versions={},
        )


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
    artifacts = registry.list("resnet18")
    assert [a.version for a in artifacts] == list(range(1, 2 * PUTS_PER_WRITER + 1))
    written = {(a.metrics["writer"], a.metrics["i"]) for a in artifacts}
    assert written == {(w, i) for w in ("a", "b") for i in range(PUTS_PER_WRITER)}
    _assert_intact(registry)


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
