ALTER TABLE users RESET (fillfactor, autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor);
ALTER TABLE list_aggregations RESET (fillfactor, autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor);
ALTER TABLE user_aggregations RESET (fillfactor, autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor);
ALTER TABLE post_aggregations RESET (fillfactor, autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor);
