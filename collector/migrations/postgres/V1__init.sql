-- modelplug collector, PostgreSQL: usage events, their rollups, keys, client-reported drops.

CREATE TABLE events (
    id uuid PRIMARY KEY,
    ts bigint NOT NULL,
    received_ms bigint NOT NULL,
    key_id text NOT NULL,
    app text NOT NULL,
    team text NOT NULL,
    user_id text NOT NULL,
    env text NOT NULL,
    operation text NOT NULL,
    model_requested text NOT NULL,
    provider text NOT NULL,
    deployment text NOT NULL,
    model text NOT NULL,
    stream boolean NOT NULL,
    status text NOT NULL,
    error_code text NOT NULL,
    http_status integer,
    input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    cache_write_tokens bigint NOT NULL,
    reasoning_tokens bigint NOT NULL,
    cost_nusd bigint,
    cost_is_estimated boolean NOT NULL,
    latency_ms double precision NOT NULL,
    ttft_ms double precision,
    attempts integer NOT NULL,
    fallback_used boolean NOT NULL,
    cache_hit boolean NOT NULL,
    policy_version text,
    labels text,
    extra text NOT NULL
);
CREATE INDEX events_ts ON events (ts);

CREATE TABLE rollups (
    period_ms bigint NOT NULL,
    start_ms bigint NOT NULL,
    attr text NOT NULL,
    attr_value text NOT NULL,
    app text NOT NULL,
    team text NOT NULL,
    env text NOT NULL,
    operation text NOT NULL,
    provider text NOT NULL,
    deployment text NOT NULL,
    model text NOT NULL,
    status text NOT NULL,
    error_code text NOT NULL,
    requests bigint NOT NULL,
    input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    cache_write_tokens bigint NOT NULL,
    reasoning_tokens bigint NOT NULL,
    cost_nusd bigint NOT NULL,
    priced_requests bigint NOT NULL,
    estimated_cost_requests bigint NOT NULL,
    fallbacks bigint NOT NULL,
    cache_hits bigint NOT NULL,
    streams bigint NOT NULL,
    latency_sum_ms double precision NOT NULL,
    latency_hist bigint[] NOT NULL,
    ttft_hist bigint[] NOT NULL,
    PRIMARY KEY (period_ms, attr, start_ms, attr_value, app, team, env, operation, provider,
                 deployment, model, status, error_code)
);

-- Histograms (collector/src/hist.rs) add bucket by bucket; the shorter one is padded with zeros.
CREATE FUNCTION mp_hist_add(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i), '{}')
    FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
$$;
CREATE AGGREGATE mp_hist_sum(bigint[]) (SFUNC = mp_hist_add, STYPE = bigint[], INITCOND = '{}');

CREATE TABLE api_keys (
    id text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('admin', 'ingest')),
    app text,
    team text,
    name text,
    secret_sha256 bytea NOT NULL,
    created_ms bigint NOT NULL,
    expires_ms bigint,
    revoked_ms bigint
);

CREATE TABLE client_drops (
    received_ms bigint NOT NULL,
    app text NOT NULL,
    dropped bigint NOT NULL
);
