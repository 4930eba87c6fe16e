-- The rows updated in place on every group: a post's or account's counters, an account's rev.
-- None of the updated columns is indexed, so PostgreSQL can write the new version on the same
-- page (a HOT update: no index entry, no page split) when the page has room; full pages make
-- every update a new index entry in the primary key. Room on each page, and autovacuum that
-- reclaims the old versions long before PostgreSQL's default 20% of the table is dead.
ALTER TABLE post_aggregations SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE user_aggregations SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE list_aggregations SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE users SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_analyze_scale_factor = 0.05);
