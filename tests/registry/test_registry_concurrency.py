"""Parallel writers and killed writers, with real processes and a real index (SQLite, and
PostgreSQL for the tests marked postgres)."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import random
import signal
import time

import pytest

from edgebatch.registry import Registry

# fork: the children reuse the parent's imports instead of paying for them again.
FORK = multiprocessing.get_context("fork")
HEADER = b"\x1c\x00\x00\x00TFL3"
PUTS_PER_WRITER = 20


def _write_many(root, url, writer, barrier):
    barrier.wait()  # both processes also create the fresh registry at once
    registry = Registry(root, url=url)
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


def _put_once(root, url, barrier, unchanged):
    registry = Registry(root, url=url)
    barrier.wait()
    artifact = registry.put("resnet18", HEADER + b"same", recipe={}, metrics={}, tool_versions={})
    unchanged.put(artifact.unchanged)


def _register(root, url, writer, puts, barrier):
    registry = Registry(root, url=url)
    barrier.wait()
    for i in range(puts):
        registry.put("resnet18", HEADER + f"{writer}-{i}".encode() * 100, recipe={},
                     metrics={"writer": writer, "i": i}, tool_versions={})


def _write_forever(root, url, sizes=(16 << 20,), seed=0):
    registry = Registry(root, url=url)
    pick = random.Random(seed)
    while True:
        data = HEADER + os.urandom(pick.choice(sizes))
        registry.put("big", data, recipe={}, metrics={}, tool_versions={})


def _run(processes):
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return [process.exitcode for process in processes]


def _assert_intact(registry):
    for artifact in registry.list():
        assert hashlib.sha256(artifact.path.read_bytes()).hexdigest() == artifact.sha256
        assert artifact.path.stat().st_size == artifact.size_bytes


def _assert_gap_free(registry, name):
    versions = [a.version for a in registry.list(name)]
    assert versions == list(range(1, len(versions) + 1))


@pytest.mark.timeout(60)
def test_two_processes_writing_at_once_lose_nothing(tmp_path, index_url):
    root = tmp_path / "registry"
    barrier = FORK.Barrier(2)
    writers = [
        FORK.Process(target=_write_many, args=(root, index_url, w, barrier)) for w in ("a", "b")
    ]
    assert _run(writers) == [0, 0]

    registry = Registry(root, url=index_url)
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
def test_the_same_bytes_put_by_many_processes_at_once_make_one_version(tmp_path, index_url):
    root = tmp_path / "registry"
    Registry(root, url=index_url)
    writers = 4
    barrier, unchanged = FORK.Barrier(writers), FORK.Queue()
    processes = [
        FORK.Process(target=_put_once, args=(root, index_url, barrier, unchanged))
        for _ in range(writers)
    ]
    assert _run(processes) == [0] * writers

    assert sorted(unchanged.get() for _ in range(writers)) == [False] + [True] * (writers - 1)
    assert [a.ref for a in Registry(root, url=index_url).list()] == ["resnet18@1"]


@pytest.mark.timeout(180)
def test_eight_writers_into_one_name_get_every_version_once(tmp_path, index_url):
    writers, puts = 8, 25
    root = tmp_path / "registry"
    Registry(root, url=index_url)
    barrier = FORK.Barrier(writers)
    processes = [
        FORK.Process(target=_register, args=(root, index_url, w, puts, barrier))
        for w in range(writers)
    ]
    assert _run(processes) == [0] * writers

    registry = Registry(root, url=index_url)
    artifacts = registry.list("resnet18")
    assert [a.version for a in artifacts] == list(range(1, writers * puts + 1))
    written = sorted((a.metrics["writer"], a.metrics["i"]) for a in artifacts)
    assert written == [(w, i) for w in range(writers) for i in range(puts)]
    _assert_intact(registry)
    assert registry.verify().ok


def _wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.mark.timeout(60)
def test_kill_9_during_a_write_leaves_no_visible_partial_artifact(tmp_path, index_url):
    root = tmp_path / "registry"
    registry = Registry(root, url=index_url)

    def temp_files():
        return list(registry.store.temp_files())

    for _attempt in range(5):  # until the kill lands between a temp file's creation and its rename
        writer = FORK.Process(target=_write_forever, args=(root, index_url))
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
    _assert_gap_free(registry, "big")

    assert registry.gc()["temp_files_removed"] >= 1
    assert temp_files() == []
    _assert_intact(registry)
    after = registry.put("big", HEADER + b"after", recipe={}, metrics={}, tool_versions={})
    assert after.version == len(registry.list())


def kill_writers_at_random_points(root, url, kills: int) -> dict[str, int]:
    """SIGKILL `kills` writers, each after a random delay; return what they left."""
    delays = random.Random(kills)
    # Mixed sizes spread the kill points over connecting, hashing, writing the blob and
    # the index transaction.
    sizes = (1 << 10, 1 << 16, 1 << 20, 4 << 20)
    for seed in range(kills):
        writer = FORK.Process(target=_write_forever, args=(root, url, sizes, seed))
        writer.start()
        time.sleep(delays.uniform(0.0, 0.3))
        os.kill(writer.pid, signal.SIGKILL)
        writer.join()
        assert writer.exitcode == -signal.SIGKILL  # never died of anything else
    registry = Registry(root, url=url)
    report = registry.verify()
    return {
        "versions": len(registry.list("big")),
        **report.counts(),
        **registry.gc(),
    }


@pytest.mark.timeout(600)
@pytest.mark.parametrize("kills", [20, pytest.param(120, marks=pytest.mark.slow)])
def test_writers_killed_at_random_points_leave_a_consistent_registry(tmp_path, index_url, kills):
    root = tmp_path / "registry"
    Registry(root, url=index_url)

    left = kill_writers_at_random_points(root, index_url, kills)

    assert left["missing"] == left["corrupt"] == 0  # only orphans and temp files, which gc removes
    registry = Registry(root, url=index_url)
    _assert_gap_free(registry, "big")
    _assert_intact(registry)
    assert registry.verify().ok
    after = registry.put("big", HEADER + b"after", recipe={}, metrics={}, tool_versions={})
    assert after.version == left["versions"] + 1
