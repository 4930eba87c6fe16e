ALTER TABLE posts DROP COLUMN violates_thread_gate, DROP COLUMN violates_embedding_rules;
