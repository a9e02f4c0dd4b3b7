-- Central policy: every version of the organisation's policy document, as PUT (never changed
-- afterwards: the audit trail), and the Ed25519 seed the collector signs policies with.

CREATE TABLE policy_versions (
    version INTEGER PRIMARY KEY,
    document TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    author_key_id TEXT NOT NULL,
    author_name TEXT NOT NULL,
    diff TEXT NOT NULL,
    rolled_back_from INTEGER
);

-- One row: made at the first start (or by `modelplug-collector policy public-key`).
CREATE TABLE policy_signing_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seed BLOB NOT NULL,
    created_ms INTEGER NOT NULL
);
