"""Schema versions of the index and the steps from each to the next.

The version is the one row of table `schema_version`. Version 1 is the SQLite index that
edgebatch wrote before it took database URLs: no version table (it used SQLite's
`PRAGMA user_version`), tables `metrics` and `runs` that relied on SQLite's per-value types
and rowids. Version 2 holds nothing only SQLite can. Version 3 (tables.py) adds tags, a
description per artifact and the record of deleted versions. Version 4 adds each run's job
key (`run_records.job_key`, for skip_unchanged). An index of a newer version
than this code knows is refused, never rewritten.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from edgebatch.errors import RegistryError
from edgebatch.registry import tables
from edgebatch.registry.database import Database

LEGACY_VERSION = 1
SCHEMA_LOCK_KEY = "schema"


def schema_version(database: Database) -> int:
    """The index's schema version; 0 if the database holds no index."""
    with database.read() as connection:
        return _version(connection)


def upgrade(database: Database) -> None:
    """Create the index, or bring it to tables.SCHEMA_VERSION. Processes that call this at
    once wait for the first one, then find nothing left to do."""
    if _check(schema_version(database), database) == tables.SCHEMA_VERSION:
        return
    with database.write(lock_key=SCHEMA_LOCK_KEY) as connection:
        current = _check(_version(connection), database)
        if current == 0:
            tables.metadata.create_all(connection)
        else:
            for step in _STEPS[current - 1 :]:
                step(connection)
        connection.execute(sa.delete(tables.schema_version))
        connection.execute(sa.insert(tables.schema_version).values(version=tables.SCHEMA_VERSION))


def _version(connection: Connection) -> int:
    table_names = set(sa.inspect(connection).get_table_names())
    if tables.schema_version.name in table_names:
        return connection.execute(sa.select(tables.schema_version.c.version)).scalar_one()
    return LEGACY_VERSION if tables.artifacts.name in table_names else 0


def _check(version: int, database: Database) -> int:
    if version > tables.SCHEMA_VERSION:
        raise RegistryError(
            f"registry index {database.display_url} has schema version {version}, newer than "
            f"this edgebatch knows ({tables.SCHEMA_VERSION}): upgrade edgebatch"
        )
    return version


def _portable_tables(connection: Connection) -> None:
    """1 -> 2: add `schema_version`; move `metrics` to `artifact_metrics` (JSON values, in
    order) and `runs` to `run_records` (with the order of recording, which version 1 kept
    only in SQLite's rowid)."""
    tables.metadata.create_all(
        connection,
        tables=[tables.schema_version, tables.artifact_metrics, tables.run_records],
    )
    positions: dict[int, int] = {}
    metrics = []
    for row in _legacy_rows(connection, "metrics", ["artifact_id", "key", "value"]):
        positions[row.artifact_id] = positions.get(row.artifact_id, -1) + 1
        metrics.append(
            {
                "artifact_id": row.artifact_id,
                "position": positions[row.artifact_id],
                "key": row.key,
                "value": tables.encode_metric(row.value),
            }
        )
    later = {"id", "job_key"}  # made here (the order of recording), or by a later version
    run_columns = [c.name for c in tables.run_records.columns if c.name not in later]
    runs = [row._asdict() for row in _legacy_rows(connection, "runs", run_columns)]
    for target, rows in ((tables.artifact_metrics, metrics), (tables.run_records, runs)):
        if rows:
            connection.execute(sa.insert(target), rows)
    for legacy in ("metrics", "runs"):
        sa.Table(legacy, sa.MetaData()).drop(connection)


def _legacy_rows(connection: Connection, table: str, columns: list[str]) -> list[sa.Row]:
    """Every row of a version-1 table, in the order it was written."""
    legacy = sa.table(table, *map(sa.column, [*columns, "rowid"]))
    selected = [legacy.c[column] for column in columns]
    return connection.execute(sa.select(*selected).order_by(legacy.c.rowid)).all()


def _tags_descriptions_deletions(connection: Connection) -> None:
    """2 -> 3: add `artifacts.description`, `artifact_tags` and `deleted_versions`."""
    connection.execute(sa.text("ALTER TABLE artifacts ADD COLUMN description TEXT"))
    tables.metadata.create_all(
        connection, tables=[tables.artifact_tags, tables.deleted_versions]
    )


def _run_job_keys(connection: Connection) -> None:
    """3 -> 4: add `run_records.job_key` (NULL for the runs recorded before). A version-1
    index has it already: step 1 -> 2 made its `run_records` with today's columns."""
    columns = {column["name"] for column in sa.inspect(connection).get_columns("run_records")}
    if "job_key" not in columns:
        connection.execute(sa.text("ALTER TABLE run_records ADD COLUMN job_key TEXT"))


# _STEPS[i] upgrades version i + 1 to i + 2.
_STEPS: list[Callable[[Connection], None]] = [
    _portable_tables, _tags_descriptions_deletions, _run_job_keys,
]
