DROP TABLE repo_buffer;
DROP TABLE repos;
