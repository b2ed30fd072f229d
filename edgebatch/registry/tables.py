"""The index's tables in SQLAlchemy Core, the same on SQLite and PostgreSQL (schema version 4).

JSON values (recipes, tool versions, report paths, run configs, metric values) are stored as
text: PostgreSQL's json types reject the NaN and Infinity a metric may hold. Timestamps are
ISO-8601 text in UTC.
"""

from __future__ import annotations

import json
import math

import sqlalchemy as sa

from edgebatch.registry.records import RUN_STATUSES, MetricValue

SCHEMA_VERSION = 4

# Text compared by code point, as SQLite compares it: listings sort the same on every
# database, whatever the PostgreSQL server's locale.
_Text = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, nullable=False),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", _Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("sha256", _Text, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("created_at", _Text, nullable=False),
    sa.Column("recipe", _Text, nullable=False),
    sa.Column("tool_versions", _Text, nullable=False),
    sa.Column("run_id", _Text),
    sa.Column("report_paths", _Text, nullable=False),
    sa.Column("description", _Text),  # free text a person attached (edgebatch-registry describe)
    sa.UniqueConstraint("name", "version"),
    sa.Index("artifacts_sha256", "sha256"),
)

def _artifact_id() -> sa.Column:
    """The column of a per-artifact table that names its artifact (gone with it)."""
    return sa.Column("artifact_id", sa.Integer, sa.ForeignKey(artifacts.c.id, ondelete="CASCADE"),
                     nullable=False)


artifact_metrics = sa.Table(
    "artifact_metrics",
    metadata,
    _artifact_id(),
    sa.Column("position", sa.Integer, nullable=False),  # metrics come back in the order given
    sa.Column("key", _Text, nullable=False),
    sa.Column("value", _Text),
    sa.PrimaryKeyConstraint("artifact_id", "key"),
)

aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("name", _Text, nullable=False),
    sa.Column("alias", _Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", _Text, nullable=False),
    sa.PrimaryKeyConstraint("name", "alias"),
    sa.ForeignKeyConstraint(["name", "version"], [artifacts.c.name, artifacts.c.version]),
)

artifact_tags = sa.Table(
    "artifact_tags",
    metadata,
    _artifact_id(),
    sa.Column("tag", _Text, nullable=False),
    sa.PrimaryKeyConstraint("artifact_id", "tag"),
)

# Versions that were deleted: their numbers are never given to new bytes.
deleted_versions = sa.Table(
    "deleted_versions",
    metadata,
    sa.Column("name", _Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("sha256", _Text, nullable=False),
    sa.Column("deleted_at", _Text, nullable=False),
    sa.PrimaryKeyConstraint("name", "version"),
)

run_records = sa.Table(
    "run_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # order of recording: newest wins ties
    sa.Column("run_id", _Text, nullable=False, unique=True),
    sa.Column("name", _Text, nullable=False),
    sa.Column("status", _Text, nullable=False),
    sa.Column("stage", _Text),
    sa.Column("error_class", _Text),
    sa.Column("error_signature", _Text),
    sa.Column("error_message", _Text),
    sa.Column("artifact_version", sa.Integer),
    sa.Column("started_at", _Text),
    sa.Column("finished_at", _Text),
    sa.Column("config", _Text, nullable=False),
    sa.Column("job_key", _Text),  # edgebatch.batch.job_key of the job (skip_unchanged)
    sa.CheckConstraint(sa.column("status").in_(RUN_STATUSES), name="run_records_status"),
    sa.Index("run_records_name", "name", "finished_at"),
)


def encode_metric(value: MetricValue) -> str | None:
    """A metric value as stored: JSON text, or NULL for None and NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return json.dumps(value)


def decode_metric(stored: str | None) -> MetricValue:
    return None if stored is None else json.loads(stored)
