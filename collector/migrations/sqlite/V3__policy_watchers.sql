-- Live policy watchers per collector replica (app, team — '' for none), so budget leases are
-- divided among the watchers of every live replica. Each replica writes its own rows when its
-- watchers change and as a heartbeat (`seen_ms`), and deletes them when it stops; rows not
-- seen for a few seconds are not counted (a replica that died). On SQLite one server writes.
CREATE TABLE policy_watchers (
    replica TEXT NOT NULL,
    app TEXT NOT NULL,
    team TEXT NOT NULL,
    watchers INTEGER NOT NULL,
    seen_ms INTEGER NOT NULL,
    PRIMARY KEY (replica, app, team)
);
