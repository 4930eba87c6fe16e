-- Clears every comment the up migration set (the tables had none before it).
DO $$
DECLARE
    t regclass;
    c text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'posts', 'likes', 'reposts', 'follows', 'blocks', 'feed_items',
        'post_aggregations', 'user_aggregations', 'generic_records', 'firehose_cursor']::regclass[]
    LOOP
        EXECUTE format('COMMENT ON TABLE %s IS NULL', t);
        FOR c IN SELECT attname FROM pg_attribute WHERE attrelid = t AND attnum > 0 AND NOT attisdropped
        LOOP
            EXECUTE format('COMMENT ON COLUMN %s.%I IS NULL', t, c);
        END LOOP;
    END LOOP;
END
$$;
