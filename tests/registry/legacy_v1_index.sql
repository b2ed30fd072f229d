-- An index as edgebatch wrote it before the registry took database URLs (schema version 1:
-- the DDL of edgebatch/registry/index.py at c6d34aa), with one artifact
-- (its blob: tflite_bytes("legacy")), one alias and two runs that finished at once.
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
PRAGMA user_version = 1;
INSERT INTO artifacts (id, name, version, sha256, size_bytes, created_at, recipe, tool_versions,
                       run_id, report_paths)
VALUES (1, 'resnet18', 1, 'fd423bd03f2f4a213e29c253471a577298c8e720b4c74ed3c16f9c7882c48610', 14,
        '2026-11-01T00:00:00.000+00:00',
        '{"quant": {"mode": "drq"}}', '{"torch": "2.14.1"}', 'run-1', '{"html": "report.html"}');
INSERT INTO metrics (artifact_id, key, value) VALUES (1, 'max_abs_error', 2.5e-6);
INSERT INTO metrics (artifact_id, key, value) VALUES (1, 'num_ops', 42);
INSERT INTO metrics (artifact_id, key, value) VALUES (1, 'verdict', 'pass');
INSERT INTO metrics (artifact_id, key, value) VALUES (1, 'latency_ms', NULL);
INSERT INTO aliases (name, alias, version, updated_at)
VALUES ('resnet18', 'baseline', 1, '2026-11-01T00:00:01.000+00:00');
INSERT INTO runs (run_id, name, status, stage, error_class, error_signature, error_message,
                  artifact_version, started_at, finished_at, config)
VALUES ('run-1', 'resnet18', 'ok', NULL, NULL, NULL, NULL, 1, '2026-11-01T00:00:00.000+00:00',
        '2026-11-01T00:00:01.000+00:00', '{"quant": "drq"}');
INSERT INTO runs (run_id, name, status, stage, error_class, error_signature, error_message,
                  artifact_version, started_at, finished_at, config)
VALUES ('run-0', 'resnet18', 'failed', 'convert', 'ConversionError', 'abcd', 'no', NULL,
        '2026-11-01T00:00:00.000+00:00', '2026-11-01T00:00:01.000+00:00', '{}');
