-- Automated care: versioned rule sets, the outbox of steps to carry out (written in the
-- transaction of the change that triggered them; the key makes a step unique, so a retried
-- trigger or a crash never doubles one), and the messages sent.
CREATE TABLE automation_rules (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    version      INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, version)
);

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    key          TEXT NOT NULL,
    contact_id   INTEGER NOT NULL,
    rule         TEXT NOT NULL,
    rule_version INTEGER NOT NULL,
    step         INTEGER NOT NULL CHECK (step >= 0),
    occurrence   TEXT NOT NULL,
    context      TEXT NOT NULL,
    due_at       INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'skipped', 'failed')),
    attempts     INTEGER NOT NULL CHECK (attempts >= 0),
    lease_until  INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    UNIQUE (workspace_id, key)
);
-- The runner reads only what is still to do.
CREATE INDEX outbox_due ON outbox (workspace_id, due_at) WHERE status IN ('pending', 'running');
CREATE INDEX outbox_contact ON outbox (workspace_id, contact_id, id);

CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    contact_id   INTEGER NOT NULL,
    channel      TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'webhook')),
    rule         TEXT NOT NULL,
    rule_version INTEGER NOT NULL,
    step_key     TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    subject      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('sent', 'skipped', 'failed')),
    detail       TEXT,
    at           INTEGER NOT NULL,
    UNIQUE (workspace_id, step_key)
);
CREATE INDEX messages_contact ON messages (workspace_id, contact_id, id);
