DROP INDEX repos_resyncing;
DROP INDEX repos_error_due;
DROP INDEX repos_desynchronized_due;
CREATE INDEX repos_due ON repos (state, retry_at) WHERE state IN ('desynchronized', 'error');
