DROP TABLE repo_enumerations;
DROP TABLE repo_buffer;
DROP TABLE repos;
