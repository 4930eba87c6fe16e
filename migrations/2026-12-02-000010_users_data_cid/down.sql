ALTER TABLE users DROP COLUMN data_cid;
