-- Live policy watchers per collector replica (app, team — '' for none), so budget leases are
-- divided among the watchers of every live replica. Each replica writes its own rows when its
-- watchers change and as a heartbeat (`seen_ms`, the database's clock), and deletes them when
-- it stops; rows not seen for a few seconds are not counted (a replica that died).
CREATE TABLE policy_watchers (
    replica text NOT NULL,
    app text NOT NULL,
    team text NOT NULL,
    watchers bigint NOT NULL,
    seen_ms bigint NOT NULL,
    PRIMARY KEY (replica, app, team)
);
