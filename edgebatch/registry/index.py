"""SQLite index of the registry: tables runs, artifacts, metrics, aliases.

The database runs in WAL mode so readers never block writers. Every write is one
`BEGIN IMMEDIATE` transaction: it takes SQLite's write lock before reading the
current latest version, so parallel processes get distinct, gap-free versions and
two puts of the same bytes at once add one version, not two.
A connection is opened per operation, which keeps the index safe to use after fork.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgebatch.errors import RegistryError
from edgebatch.registry.records import MetricValue, Run

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 60.0

_SCHEMA = f"""
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS artifacts (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    sha256        TEXT    NOT NULL,
    size_bytes    INTEGER NOT NULL,
    created_at    TEXT    NOT NULL,
    recipe        TEXT    NOT NULL,  -- JSON
    tool_versions TEXT    NOT NULL,  -- JSON
    run_id        TEXT,
    report_paths  TEXT    NOT NULL,  -- JSON
    UNIQUE (name, version)
);
CREATE INDEX IF NOT EXISTS artifacts_sha256 ON artifacts (sha256);
CREATE TABLE IF NOT EXISTS metrics (
    artifact_id INTEGER NOT NULL REFERENCES artifacts (id) ON DELETE CASCADE,
    key         TEXT    NOT NULL,
    value,            -- no type affinity: keeps int, float, text or NULL as given
    PRIMARY KEY (artifact_id, key)
);
CREATE TABLE IF NOT EXISTS aliases (
    name       TEXT    NOT NULL,
    alias      TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (name, alias),
    FOREIGN KEY (name, version) REFERENCES artifacts (name, version)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id           TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    stage            TEXT,
    error_class      TEXT,
    error_signature  TEXT,
    error_message    TEXT,
    artifact_version INTEGER,
    started_at       TEXT,
    finished_at      TEXT,
    config           TEXT NOT NULL  -- JSON
);
CREATE INDEX IF NOT EXISTS runs_name ON runs (name, finished_at);
PRAGMA user_version = {SCHEMA_VERSION};
COMMIT;
"""


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def to_iso(value: str | datetime | None) -> str | None:
    """Timestamps are stored as ISO strings in UTC; naive datetimes count as local time."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    return value


def to_json(value: Any, what: str) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as e:
        raise RegistryError(f"{what} must be JSON-serializable: {e}") from e


class Index:
    """Queries and transactions on `index.sqlite`; returns plain dicts and `Run`s."""

    def __init__(self, path: Path):
        self.path = Path(path)
        with self._connect() as db:
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # timeout= sets SQLite's busy_timeout; isolation_level=None lets us issue BEGIN ourselves.
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA synchronous = FULL")
            yield db
        except sqlite3.Error as e:
            raise RegistryError(f"registry index {self.path}: {e}") from e
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # --- artifacts -------------------------------------------------------------------

    def add_artifact(
        self,
        name: str,
        *,
        sha256: str,
        size_bytes: int,
        recipe: dict[str, Any],
        tool_versions: dict[str, str],
        metrics: dict[str, MetricValue],
        run_id: str | None,
        report_paths: dict[str, str],
    ) -> tuple[int, bool]:
        """Insert the next version of `name` with its metrics and return (that version, True);
        if the latest version already has `sha256`, insert nothing and return (latest, False)."""
        columns = (
            to_json(recipe, "recipe"),
            to_json(tool_versions, "tool_versions"),
            to_json(report_paths, "report_paths"),
        )
        with self._transaction() as db:
            latest = db.execute(
                "SELECT version, sha256 FROM artifacts WHERE name = ?"
                " ORDER BY version DESC LIMIT 1",
                (name,),
            ).fetchone()
            if latest is not None and latest["sha256"] == sha256:
                return latest["version"], False
            version = 1 if latest is None else latest["version"] + 1
            cursor = db.execute(
                "INSERT INTO artifacts (name, version, sha256, size_bytes, created_at,"
                " recipe, tool_versions, report_paths, run_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, version, sha256, size_bytes, utc_now(), *columns, run_id),
            )
            db.executemany(
                "INSERT INTO metrics (artifact_id, key, value) VALUES (?, ?, ?)",
                [(cursor.lastrowid, key, value) for key, value in metrics.items()],
            )
        return version, True

    def artifacts(self, name: str | None = None, version: int | None = None) -> list[dict]:
        """Artifacts ordered by name and version, each with its metrics and aliases."""
        where, params = "1", ()
        if name is not None:
            where, params = "a.name = ?", (name,)
        if version is not None:
            where, params = f"{where} AND a.version = ?", (*params, version)
        with self._connect() as db:
            rows = db.execute(
                f"SELECT * FROM artifacts a WHERE {where} ORDER BY a.name, a.version", params
            ).fetchall()
            metrics = db.execute(
                f"SELECT m.artifact_id, m.key, m.value FROM metrics m"
                f" JOIN artifacts a ON a.id = m.artifact_id WHERE {where} ORDER BY m.rowid",
                params,
            ).fetchall()
            aliases = db.execute(
                f"SELECT al.name, al.version, al.alias FROM aliases al JOIN artifacts a"
                f" ON a.name = al.name AND a.version = al.version WHERE {where}"
                f" ORDER BY al.alias",
                params,
            ).fetchall()
        metrics_by_id: dict[int, dict[str, MetricValue]] = {}
        for artifact_id, key, value in metrics:
            metrics_by_id.setdefault(artifact_id, {})[key] = value
        aliases_by_ref: dict[tuple[str, int], list[str]] = {}
        for alias_name, alias_version, alias in aliases:
            aliases_by_ref.setdefault((alias_name, alias_version), []).append(alias)
        return [
            {
                "name": row["name"],
                "version": row["version"],
                "sha256": row["sha256"],
                "size_bytes": row["size_bytes"],
                "created_at": row["created_at"],
                "recipe": json.loads(row["recipe"]),
                "tool_versions": json.loads(row["tool_versions"]),
                "metrics": metrics_by_id.get(row["id"], {}),
                "aliases": aliases_by_ref.get((row["name"], row["version"]), []),
                "run_id": row["run_id"],
                "report_paths": json.loads(row["report_paths"]),
            }
            for row in rows
        ]

    def latest_version(self, name: str) -> int | None:
        """Versions of a name run 1..latest without gaps; None if `name` is unknown."""
        with self._connect() as db:
            row = db.execute("SELECT MAX(version) FROM artifacts WHERE name = ?", (name,))
            return row.fetchone()[0]

    def names(self) -> list[str]:
        with self._connect() as db:
            rows = db.execute("SELECT DISTINCT name FROM artifacts ORDER BY name").fetchall()
        return [name for (name,) in rows]

    def refs_by_sha256(self) -> dict[str, list[str]]:
        """{sha256: ["NAME@VERSION", ...]} for every blob the index references."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT sha256, name, version FROM artifacts ORDER BY name, version"
            ).fetchall()
        refs: dict[str, list[str]] = {}
        for sha256, name, version in rows:
            refs.setdefault(sha256, []).append(f"{name}@{version}")
        return refs

    # --- aliases ---------------------------------------------------------------------

    def set_alias(self, name: str, version: int, alias: str) -> None:
        """Point `alias` of `name` at `version`, moving it if it pointed elsewhere."""
        with self._transaction() as db:
            exists = db.execute(
                "SELECT 1 FROM artifacts WHERE name = ? AND version = ?", (name, version)
            ).fetchone()
            if exists is None:
                raise RegistryError(f"cannot set alias {alias!r}: no artifact {name}@{version}")
            db.execute(
                "INSERT INTO aliases (name, alias, version, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name, alias) DO UPDATE"
                " SET version = excluded.version, updated_at = excluded.updated_at",
                (name, alias, version, utc_now()),
            )

    def aliases(self, name: str) -> dict[str, int]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT alias, version FROM aliases WHERE name = ? ORDER BY alias", (name,)
            ).fetchall()
        return {alias: version for alias, version in rows}

    # --- runs ------------------------------------------------------------------------

    def record_run(self, run: Run) -> None:
        """Insert `run`, replacing an earlier record with the same run_id."""
        config = to_json(run.config, "config")
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO runs (run_id, name, status, stage, error_class,"
                " error_signature, error_message, artifact_version, started_at, finished_at,"
                " config) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.run_id, run.name, run.status, run.stage, run.error_class,
                    run.error_signature, run.error_message, run.artifact_version,
                    run.started_at, run.finished_at, config,
                ),
            )

    def runs(self, name: str | None = None, *, status: str | None = None, limit: int) -> list[Run]:
        """Runs, newest first."""
        clauses, params = [], []
        if name is not None:
            clauses.append("name = ?")
            params.append(name)
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        where = " AND ".join(clauses) or "1"
        with self._connect() as db:
            rows = db.execute(
                f"SELECT * FROM runs WHERE {where} ORDER BY finished_at DESC, rowid DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [Run(**{**dict(row), "config": json.loads(row["config"])}) for row in rows]
