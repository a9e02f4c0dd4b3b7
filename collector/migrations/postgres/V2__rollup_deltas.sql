-- Rollup sums are appended here by each ingest transaction (no row is updated on the ingest
-- path, so concurrent batches never wait on each other's hot rollup rows); one replica at a
-- time folds them into `rollups` every second. Reports read both (collector/src/store/postgres.rs).
CREATE TABLE rollup_deltas (LIKE rollups INCLUDING DEFAULTS);
