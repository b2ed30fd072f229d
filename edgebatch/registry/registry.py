"""The `Registry` facade: versioned, content-addressed `.tflite` artifacts.

Blobs live under `<root>/blobs/` (store.py); the index lives in the database at `url`
(database.py), by default SQLite at `<root>/index.sqlite`. A put writes and fsyncs its blob
before the index row is committed, so a crash at any point never leaves a row without its
complete blob. Whatever damages a blob afterwards, `verify` finds and `export` refuses
(verify.py).
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from edgebatch.errors import CorruptBlobError, RegistryError
from edgebatch.registry.database import INDEX_FILE, Database, default_url
from edgebatch.registry.diff import diff_artifacts
from edgebatch.registry.index import Index, to_iso
from edgebatch.registry.migrations import schema_version, upgrade
from edgebatch.registry.records import RUN_STATUSES, Artifact, MetricValue, Run
from edgebatch.registry.refs import Ref, check_alias, check_name, parse_ref
from edgebatch.registry.store import BlobStore, DirectoryBlobStore, write_atomic
from edgebatch.registry.verify import VerifyReport, blob_defect, check_store, is_tflite

BLOB_DIR = "blobs"
LOCK_FILE = "registry.lock"


class Registry:
    """Artifacts by name and auto-incremented version, plus aliases and run records.

    Safe for many processes at once (e.g. joblib workers) on one machine; with a PostgreSQL
    `url` and a `root` every machine mounts, for jobs on many machines.
    `Registry(root)` creates the registry if there is none; `Registry.open(root)` does not.
    """

    def __init__(self, root: str | os.PathLike[str], *, url: str | None = None):
        self.root = Path(root)
        self.url = url or default_url(self.root)
        self.database = Database(self.url, lock_file=self.root / LOCK_FILE)
        self.root.mkdir(parents=True, exist_ok=True)
        self.store: BlobStore = DirectoryBlobStore(self.root / BLOB_DIR)
        self.database.prepare()
        upgrade(self.database)
        self.index = Index(self.database)

    @classmethod
    def open(cls, root: str | os.PathLike[str], *, url: str | None = None) -> Registry:
        """The registry at `root` (index at `url`); RegistryError, and nothing created, if
        there is none there."""
        root = Path(root)
        database = Database(url or default_url(root), lock_file=root / LOCK_FILE)
        if not root.is_dir():
            reason = "no such directory"
        elif not database.exists():
            reason = (
                f"the directory has no {INDEX_FILE}"
                if url is None
                else f"no such file: {database.display_url}"
            )
        elif schema_version(database) == 0:
            reason = f"{database.display_url} holds no registry index"
        else:
            return cls(root, url=url)
        raise RegistryError(f"no registry at {root}: {reason}")

    def __repr__(self) -> str:
        return f"Registry({str(self.root)!r}, url={self.database.display_url!r})"

    # --- artifacts -------------------------------------------------------------------

    def put(
        self,
        name: str,
        tflite: bytes | str | os.PathLike[str],
        *,
        recipe: dict[str, Any],
        metrics: dict[str, MetricValue],
        tool_versions: dict[str, str],
        run_id: str | None = None,
        report_paths: dict[str, str | os.PathLike[str]] | None = None,
    ) -> Artifact:
        """Register `tflite` (bytes or a file) as the next version of `name`.

        If the bytes equal the latest version's, nothing is added (recipe, metrics and the
        rest are not stored) and that latest version comes back with `unchanged=True`.
        Metric values may be int, float, str or None; NaN is stored as None.
        """
        check_name(name)
        data = tflite if isinstance(tflite, bytes) else _read(Path(tflite))
        if not is_tflite(data):
            raise RegistryError(f"cannot register {name!r}: the bytes are not a TFLite flatbuffer")
        with self.database.registry_lock(exclusive=False):
            sha256 = self.store.put(data)
            version, added = self.index.add_artifact(
                name,
                sha256=sha256,
                size_bytes=len(data),
                recipe=recipe,
                tool_versions=tool_versions,
                metrics=metrics,
                run_id=run_id,
                report_paths={key: str(path) for key, path in (report_paths or {}).items()},
            )
        return replace(self._artifact(name, version), unchanged=not added)

    def get(self, ref: str | Ref) -> Artifact:
        """Resolve `NAME` (latest), `NAME@VERSION`, `NAME@ALIAS` or `NAME@latest`."""
        ref = parse_ref(ref) if isinstance(ref, str) else ref
        latest = self.index.latest_version(ref.name)
        if latest is None:
            known = ", ".join(self.index.names()) or "none"
            raise RegistryError(
                f"no artifact named {ref.name!r} in registry {self.root} (names: {known})"
            )
        if ref.alias is not None:
            aliases = self.index.aliases(ref.name)
            if ref.alias not in aliases:
                known = ", ".join(aliases) or "none"
                raise RegistryError(f"{ref.name} has no alias {ref.alias!r} (aliases: {known})")
            return self._artifact(ref.name, aliases[ref.alias])
        if ref.version is not None and self.index.was_deleted(ref.name, ref.version):
            raise RegistryError(f"{ref.name}@{ref.version} was deleted")
        if ref.version is not None and ref.version > latest:
            raise RegistryError(f"{ref.name} has no version {ref.version} (versions: 1-{latest})")
        return self._artifact(ref.name, ref.version or latest)

    def list(self, name: str | None = None) -> list[Artifact]:
        """All artifacts (or all versions of `name`), ordered by name and version."""
        return [self._to_artifact(row) for row in self.index.artifacts(name)]

    def set_alias(self, name: str, version: int, alias: str) -> None:
        """Point `alias` at `name@version`; an alias names one version at a time."""
        check_alias(alias)
        self.index.set_alias(name, version, alias)

    def remove_alias(self, name: str, alias: str) -> int:
        """Remove `alias` of `name`; return the version it pointed at."""
        return self.index.remove_alias(name, alias)

    def aliases(self, name: str) -> dict[str, int]:
        """{alias: version} for `name`."""
        return self.index.aliases(name)

    def tag(self, ref: str, add: list[str] = (), remove: list[str] = ()) -> Artifact:
        """Add and remove free-form tags (e.g. `candidate`, `ticket-123`) on one artifact."""
        for tag in [*add, *remove]:
            check_alias(tag)
        artifact = self.get(ref)
        self.index.set_tags(artifact.name, artifact.version, add=list(add), remove=list(remove))
        return self._artifact(artifact.name, artifact.version)

    def describe(self, ref: str, description: str | None) -> Artifact:
        """Attach a free-text description to one artifact (None or "" clears it)."""
        artifact = self.get(ref)
        self.index.set_description(artifact.name, artifact.version, description or None)
        return self._artifact(artifact.name, artifact.version)

    def delete(self, ref: str, *, force: bool = False) -> tuple[Artifact, list[str]]:
        """Delete one version from the index (its number is never reused); refused while an
        alias points at it unless `force`, which removes those aliases too. Returns the
        artifact and the removed aliases. Its blob stays until `gc` (other versions may
        share the bytes)."""
        artifact = self.get(ref)
        removed = self.index.delete_artifact(artifact.name, artifact.version, force=force)
        return artifact, removed

    def diff(self, ref_a: str, ref_b: str) -> dict[str, Any]:
        """Metric, size, byte, recipe and tool-version differences from `ref_a` to `ref_b`."""
        return diff_artifacts(self.get(ref_a), self.get(ref_b))

    def read_blob(self, artifact: Artifact) -> bytes:
        """The artifact's `.tflite` bytes, re-hashed: CorruptBlobError if missing or damaged."""
        hint = "run edgebatch-registry verify"
        try:
            with self.store.open(artifact.sha256) as blob:
                data = blob.read()
        except FileNotFoundError as e:
            raise CorruptBlobError(
                f"blob for {artifact.ref} is missing: {artifact.path}; {hint}"
            ) from e
        except OSError as e:
            raise RegistryError(f"cannot read {artifact.path}: {e.strerror}") from e
        defect = blob_defect(data, artifact.sha256)
        if defect is not None:
            raise CorruptBlobError(f"blob for {artifact.ref} is corrupt: {defect}; {hint}")
        return data

    def export(self, ref: str, path: str | os.PathLike[str]) -> Path:
        """Copy the artifact's `.tflite` to `path` atomically; into it as NAME@VERSION.tflite
        if `path` is a directory or ends with '/' (created if missing). The bytes copied are
        re-hashed first, so a damaged blob is never exported."""
        artifact = self.get(ref)
        target = Path(path)
        if target.is_dir() or str(path).endswith(os.sep):
            target.mkdir(parents=True, exist_ok=True)
            target = target / f"{artifact.name}@{artifact.version}.tflite"
        write_atomic(target, self.read_blob(artifact))
        return target

    def verify(self) -> VerifyReport:
        """Re-hash every artifact's blob and look for missing, corrupt and stray files."""
        # Alone, like gc: a put in flight has a blob or temp file but no index row yet.
        with self.database.registry_lock(exclusive=True):
            refs_by_sha256 = self.index.refs_by_sha256()
            blobs = set(self.store.blobs())
            temp_files = list(self.store.temp_files())
        return check_store(self.store, refs_by_sha256, blobs, temp_files)

    def gc(self) -> dict[str, int]:
        """Remove blobs no artifact references and temp files of interrupted writes."""
        with self.database.registry_lock(exclusive=True):  # no put is in flight
            referenced = self.index.refs_by_sha256()
            orphans = [sha256 for sha256 in self.store.blobs() if sha256 not in referenced]
            temp_files = list(self.store.temp_files())
            bytes_freed = sum(self.store.delete(sha256) for sha256 in orphans)
            bytes_freed += sum(self.store.delete_temp_file(path) for path in temp_files)
        return {
            "blobs_removed": len(orphans),
            "temp_files_removed": len(temp_files),
            "bytes_freed": bytes_freed,
        }

    # --- runs ------------------------------------------------------------------------

    def record_run(
        self,
        run_id: str,
        name: str,
        *,
        status: str,
        stage: str | None,
        error_class: str | None,
        error_signature: str | None,
        error_message: str | None,
        artifact_version: int | None,
        started_at: str | datetime | None,
        finished_at: str | datetime | None,
        config: dict[str, Any],
        job_key: str | None = None,
    ) -> Run:
        """Record one job's outcome, failed runs included (same run_id replaces)."""
        check_name(name)
        if status not in RUN_STATUSES:
            raise RegistryError(f"run status must be one of {RUN_STATUSES}, got {status!r}")
        run = Run(
            run_id, name, status, stage, error_class, error_signature, error_message,
            artifact_version, to_iso(started_at), to_iso(finished_at), config, job_key,
        )
        self.index.record_run(run)
        return run

    def runs(self, name: str | None = None, *, limit: int = 100) -> list[Run]:
        """Recorded runs (of `name`, if given), newest first."""
        return self.index.runs(name, limit=limit)

    def last_good(self, name: str) -> Run | None:
        """The newest successful run of `name`, or None."""
        runs = self.index.runs(name, status="ok", limit=1)
        return runs[0] if runs else None

    # --- helpers ---------------------------------------------------------------------

    def _artifact(self, name: str, version: int) -> Artifact:
        (row,) = self.index.artifacts(name, version)
        return self._to_artifact(row)

    def _to_artifact(self, row: dict[str, Any]) -> Artifact:
        return Artifact(path=self.store.path(row["sha256"]), **row)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise RegistryError(f"cannot read {path}: {e.strerror}") from e
