-- Per-workspace keys that sign links sent to contacts (one-click unsubscribe), made on first
-- use and kept, so a link in an old e-mail still works.
CREATE TABLE signing_keys (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    purpose      TEXT NOT NULL,
    key          BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, purpose)
);
