ALTER TABLE repos DROP COLUMN claimed_at, DROP COLUMN hosting_at;
