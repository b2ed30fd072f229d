"""Queries on the registry index (tables.py), the same on SQLite and PostgreSQL.

Adding a version is one transaction that holds the lock of its name (database.py) before
it reads the current latest version, so parallel processes on any number of machines get
distinct versions, and two puts of the same bytes at once add one version, not two. A
deleted version leaves a gap: its number is never given to other bytes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from edgebatch.errors import RegistryError
from edgebatch.registry.database import Database
from edgebatch.registry.records import MetricValue, Run
from edgebatch.registry.tables import (
    aliases,
    artifact_metrics,
    artifact_tags,
    artifacts,
    decode_metric,
    deleted_versions,
    encode_metric,
    run_records,
)


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


def _artifact_id(db: sa.Connection, name: str, version: int) -> int:
    artifact_id = db.execute(
        sa.select(artifacts.c.id).where(
            (artifacts.c.name == name) & (artifacts.c.version == version)
        )
    ).scalar()
    if artifact_id is None:
        raise RegistryError(f"no artifact {name}@{version}")
    return artifact_id


def _name_lock(name: str) -> str:
    return f"name:{name}"


class Index:
    """Queries and transactions on the index database; returns plain dicts and `Run`s."""

    def __init__(self, database: Database):
        self.database = database

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
        row = {
            "name": name,
            "sha256": sha256,
            "size_bytes": size_bytes,
            "recipe": to_json(recipe, "recipe"),
            "tool_versions": to_json(tool_versions, "tool_versions"),
            "report_paths": to_json(report_paths, "report_paths"),
            "run_id": run_id,
        }
        with self.database.write(lock_key=_name_lock(name)) as db:
            latest = db.execute(
                sa.select(artifacts.c.version, artifacts.c.sha256)
                .where(artifacts.c.name == name)
                .order_by(artifacts.c.version.desc())
                .limit(1)
            ).first()
            if latest is not None and latest.sha256 == sha256:
                return latest.version, False
            last_deleted = db.execute(
                sa.select(sa.func.max(deleted_versions.c.version))
                .where(deleted_versions.c.name == name)
            ).scalar()
            version = max(latest.version if latest else 0, last_deleted or 0) + 1
            inserted = db.execute(
                sa.insert(artifacts).values(**row, version=version, created_at=utc_now())
            )
            (artifact_id,) = inserted.inserted_primary_key
            if metrics:
                db.execute(
                    sa.insert(artifact_metrics),
                    [
                        {
                            "artifact_id": artifact_id,
                            "position": position,
                            "key": key,
                            "value": encode_metric(value),
                        }
                        for position, (key, value) in enumerate(metrics.items())
                    ],
                )
        return version, True

    def artifacts(self, name: str | None = None, version: int | None = None) -> list[dict]:
        """Artifacts ordered by name and version, each with its metrics and aliases."""
        selected = []
        if name is not None:
            selected.append(artifacts.c.name == name)
        if version is not None:
            selected.append(artifacts.c.version == version)
        with self.database.read() as db:
            rows = db.execute(
                sa.select(artifacts)
                .where(*selected)
                .order_by(artifacts.c.name, artifacts.c.version)
            ).all()
            metrics = db.execute(
                sa.select(artifact_metrics.c.artifact_id, artifact_metrics.c.key,
                          artifact_metrics.c.value)
                .join(artifacts, artifacts.c.id == artifact_metrics.c.artifact_id)
                .where(*selected)
                .order_by(artifact_metrics.c.artifact_id, artifact_metrics.c.position)
            ).all()
            alias_rows = db.execute(
                sa.select(aliases.c.name, aliases.c.version, aliases.c.alias)
                .join(
                    artifacts,
                    (artifacts.c.name == aliases.c.name)
                    & (artifacts.c.version == aliases.c.version),
                )
                .where(*selected)
                .order_by(aliases.c.alias)
            ).all()
            tag_rows = db.execute(
                sa.select(artifact_tags.c.artifact_id, artifact_tags.c.tag)
                .join(artifacts, artifacts.c.id == artifact_tags.c.artifact_id)
                .where(*selected)
                .order_by(artifact_tags.c.tag)
            ).all()
        tags_by_id: dict[int, list[str]] = {}
        for artifact_id, tag in tag_rows:
            tags_by_id.setdefault(artifact_id, []).append(tag)
        metrics_by_id: dict[int, dict[str, MetricValue]] = {}
        for artifact_id, key, value in metrics:
            metrics_by_id.setdefault(artifact_id, {})[key] = decode_metric(value)
        aliases_by_ref: dict[tuple[str, int], list[str]] = {}
        for alias_name, alias_version, alias in alias_rows:
            aliases_by_ref.setdefault((alias_name, alias_version), []).append(alias)
        return [
            {
                "name": row.name,
                "version": row.version,
                "sha256": row.sha256,
                "size_bytes": row.size_bytes,
                "created_at": row.created_at,
                "recipe": json.loads(row.recipe),
                "tool_versions": json.loads(row.tool_versions),
                "metrics": metrics_by_id.get(row.id, {}),
                "aliases": aliases_by_ref.get((row.name, row.version), []),
                "run_id": row.run_id,
                "report_paths": json.loads(row.report_paths),
                "tags": tags_by_id.get(row.id, []),
                "description": row.description,
            }
            for row in rows
        ]

    def set_tags(self, name: str, version: int, *, add: list[str], remove: list[str]) -> None:
        with self.database.write(lock_key=_name_lock(name)) as db:
            artifact_id = _artifact_id(db, name, version)
            db.execute(
                sa.delete(artifact_tags).where(
                    (artifact_tags.c.artifact_id == artifact_id)
                    & artifact_tags.c.tag.in_([*add, *remove])
                )
            )
            if add:
                db.execute(
                    sa.insert(artifact_tags),
                    [{"artifact_id": artifact_id, "tag": tag} for tag in dict.fromkeys(add)],
                )

    def set_description(self, name: str, version: int, description: str | None) -> None:
        with self.database.write(lock_key=_name_lock(name)) as db:
            artifact_id = _artifact_id(db, name, version)
            db.execute(
                sa.update(artifacts)
                .where(artifacts.c.id == artifact_id)
                .values(description=description)
            )

    def delete_artifact(self, name: str, version: int, *, force: bool) -> list[str]:
        """Delete `name@version` with its metrics and tags; return the aliases that pointed at
        it (removed with it). Refused while aliases point at it, unless `force`."""
        with self.database.write(lock_key=_name_lock(name)) as db:
            artifact_id = _artifact_id(db, name, version)
            pointing = (aliases.c.name == name) & (aliases.c.version == version)
            removed = list(
                db.execute(sa.select(aliases.c.alias).where(pointing).order_by(aliases.c.alias))
                .scalars()
            )
            if removed and not force:
                raise RegistryError(
                    f"{name}@{version} has alias(es) {', '.join(removed)}: move them "
                    "(alias) or remove them (unalias) first, or delete with --force"
                )
            sha256 = db.execute(
                sa.select(artifacts.c.sha256).where(artifacts.c.id == artifact_id)
            ).scalar_one()
            db.execute(sa.delete(aliases).where(pointing))
            db.execute(sa.delete(artifacts).where(artifacts.c.id == artifact_id))
            db.execute(
                sa.insert(deleted_versions).values(
                    name=name, version=version, sha256=sha256, deleted_at=utc_now()
                )
            )
        return removed

    def was_deleted(self, name: str, version: int) -> bool:
        with self.database.read() as db:
            return db.execute(
                sa.select(deleted_versions.c.version).where(
                    (deleted_versions.c.name == name) & (deleted_versions.c.version == version)
                )
            ).first() is not None

    def latest_version(self, name: str) -> int | None:
        """The newest existing version of `name`; None if it has none."""
        with self.database.read() as db:
            return db.execute(
                sa.select(sa.func.max(artifacts.c.version)).where(artifacts.c.name == name)
            ).scalar()

    def names(self) -> list[str]:
        with self.database.read() as db:
            return list(
                db.execute(
                    sa.select(artifacts.c.name).distinct().order_by(artifacts.c.name)
                ).scalars()
            )

    def refs_by_sha256(self) -> dict[str, list[str]]:
        """{sha256: ["NAME@VERSION", ...]} for every blob the index references."""
        with self.database.read() as db:
            rows = db.execute(
                sa.select(artifacts.c.sha256, artifacts.c.name, artifacts.c.version)
                .order_by(artifacts.c.name, artifacts.c.version)
            ).all()
        refs: dict[str, list[str]] = {}
        for sha256, name, version in rows:
            refs.setdefault(sha256, []).append(f"{name}@{version}")
        return refs

    # --- aliases ---------------------------------------------------------------------

    def set_alias(self, name: str, version: int, alias: str) -> None:
        """Point `alias` of `name` at `version`, moving it if it pointed elsewhere."""
        with self.database.write(lock_key=_name_lock(name)) as db:
            try:
                _artifact_id(db, name, version)
            except RegistryError:
                raise RegistryError(
                    f"cannot set alias {alias!r}: no artifact {name}@{version}") from None
            db.execute(
                sa.delete(aliases).where((aliases.c.name == name) & (aliases.c.alias == alias))
            )
            db.execute(
                sa.insert(aliases).values(
                    name=name, alias=alias, version=version, updated_at=utc_now()
                )
            )

    def remove_alias(self, name: str, alias: str) -> int:
        """Remove `alias` of `name`; return the version it pointed at."""
        with self.database.write(lock_key=_name_lock(name)) as db:
            selected = (aliases.c.name == name) & (aliases.c.alias == alias)
            version = db.execute(sa.select(aliases.c.version).where(selected)).scalar()
            if version is None:
                raise RegistryError(f"{name} has no alias {alias!r}")
            db.execute(sa.delete(aliases).where(selected))
        return version

    def aliases(self, name: str) -> dict[str, int]:
        with self.database.read() as db:
            rows = db.execute(
                sa.select(aliases.c.alias, aliases.c.version)
                .where(aliases.c.name == name)
                .order_by(aliases.c.alias)
            ).all()
        return {alias: version for alias, version in rows}

    # --- runs ------------------------------------------------------------------------

    def record_run(self, run: Run) -> None:
        """Insert `run`; an earlier record with the same run_id is replaced, and the new
        one counts as recorded now."""
        row = {**asdict(run), "config": to_json(run.config, "config")}
        with self.database.write(lock_key=f"run:{run.run_id}") as db:
            db.execute(sa.delete(run_records).where(run_records.c.run_id == run.run_id))
            db.execute(sa.insert(run_records).values(row))

    def runs(self, name: str | None = None, *, status: str | None = None, limit: int) -> list[Run]:
        """Runs, newest first: by finished_at (unfinished ones last), then the latest recorded."""
        selected = []
        if name is not None:
            selected.append(run_records.c.name == name)
        if status is not None:
            selected.append(run_records.c.status == status)
        columns = [run_records.c[field.name] for field in fields(Run)]
        with self.database.read() as db:
            rows = db.execute(
                sa.select(*columns)
                .where(*selected)
                .order_by(run_records.c.finished_at.desc().nulls_last(), run_records.c.id.desc())
                .limit(limit)
            ).all()
        return [Run(**{**row._asdict(), "config": json.loads(row.config)}) for row in rows]
