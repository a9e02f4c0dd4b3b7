-- modelplug collector, SQLite: usage events, their rollups, keys, client-reported drops.

CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    ts INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    app TEXT NOT NULL,
    team TEXT NOT NULL,
    user_id TEXT NOT NULL,
    env TEXT NOT NULL,
    operation TEXT NOT NULL,
    model_requested TEXT NOT NULL,
    provider TEXT NOT NULL,
    deployment TEXT NOT NULL,
    model TEXT NOT NULL,
    stream INTEGER NOT NULL,
    status TEXT NOT NULL,
    error_code TEXT NOT NULL,
    http_status INTEGER,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    cost_nusd INTEGER,
    cost_is_estimated INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    ttft_ms REAL,
    attempts INTEGER NOT NULL,
    fallback_used INTEGER NOT NULL,
    cache_hit INTEGER NOT NULL,
    policy_version TEXT,
    labels TEXT,
    extra TEXT NOT NULL
);
CREATE INDEX events_ts ON events (ts);

CREATE TABLE rollups (
    period_ms INTEGER NOT NULL,
    start_ms INTEGER NOT NULL,
    attr TEXT NOT NULL,
    attr_value TEXT NOT NULL,
    app TEXT NOT NULL,
    team TEXT NOT NULL,
    env TEXT NOT NULL,
    operation TEXT NOT NULL,
    provider TEXT NOT NULL,
    deployment TEXT NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    error_code TEXT NOT NULL,
    requests INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    cost_nusd INTEGER NOT NULL,
    priced_requests INTEGER NOT NULL,
    estimated_cost_requests INTEGER NOT NULL,
    fallbacks INTEGER NOT NULL,
    cache_hits INTEGER NOT NULL,
    streams INTEGER NOT NULL,
    latency_sum_ms REAL NOT NULL,
    latency_hist BLOB NOT NULL,
    ttft_hist BLOB NOT NULL,
    PRIMARY KEY (period_ms, attr, start_ms, attr_value, app, team, env, operation, provider,
                 deployment, model, status, error_code)
) WITHOUT ROWID;

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('admin', 'ingest')),
    app TEXT,
    team TEXT,
    name TEXT,
    secret_sha256 BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER,
    revoked_ms INTEGER
);

CREATE TABLE client_drops (
    received_ms INTEGER NOT NULL,
    app TEXT NOT NULL,
    dropped INTEGER NOT NULL
);

-- The rollups hold every event up to this `events.seq`; later ones are added by the writer
-- within a second, or on start after a crash (collector/src/store/sqlite.rs).
CREATE TABLE rollup_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    rolled_seq INTEGER NOT NULL
);
INSERT INTO rollup_state (id, rolled_seq) VALUES (1, 0);
