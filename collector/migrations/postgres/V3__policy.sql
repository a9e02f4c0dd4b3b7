-- Central policy: every version of the organisation's policy document, as PUT (never changed
-- afterwards: the audit trail), and the Ed25519 seed every replica signs policies with.

CREATE TABLE policy_versions (
    version bigint PRIMARY KEY,
    document text NOT NULL,
    created_ms bigint NOT NULL,
    author_key_id text NOT NULL,
    author_name text NOT NULL,
    diff text NOT NULL,
    rolled_back_from bigint
);

-- One row, made by whichever replica starts first (`INSERT … ON CONFLICT DO NOTHING`), so
-- every replica signs with the same key.
CREATE TABLE policy_signing_key (
    id integer PRIMARY KEY CHECK (id = 1),
    seed bytea NOT NULL,
    created_ms bigint NOT NULL
);
