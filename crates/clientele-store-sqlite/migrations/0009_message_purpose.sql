-- Marketing messages count toward the frequency cap; service messages do not.
ALTER TABLE messages ADD COLUMN purpose TEXT NOT NULL DEFAULT 'marketing'
    CHECK (purpose IN ('marketing', 'service'));
CREATE INDEX messages_sent ON messages (workspace_id, contact_id, at) WHERE status = 'sent';
