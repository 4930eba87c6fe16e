-- The scheduler asks every second for the next repos due, oldest first. With (state, retry_at)
-- PostgreSQL had to read every desynchronized repo and sort them (1.1 s a question at 10M
-- repos listed by an enumeration): one index per question, in the order it is asked, reads
-- only the rows it returns.
DROP INDEX repos_due;
CREATE INDEX repos_desynchronized_due ON repos (updated_at)
    WHERE state = 'desynchronized' AND hosting <> 'deleted';
CREATE INDEX repos_error_due ON repos (retry_at)
    WHERE state = 'error' AND hosting <> 'deleted';
CREATE INDEX repos_resyncing ON repos (updated_at) WHERE state = 'resyncing';
