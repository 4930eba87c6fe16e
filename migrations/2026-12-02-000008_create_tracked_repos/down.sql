DROP TABLE tracked_repos;
