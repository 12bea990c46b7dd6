-- The loyalty ladder. Rule sets are versioned (the latest is active); each contact keeps
-- its rung and status, when they could next change without an event (due_at, which the
-- scheduler reads through a partial index), and a history of every change with the rule
-- version, the reason and the metrics that decided it.
CREATE TABLE ladder_rules (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    version      INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, version)
);

CREATE TABLE contact_ladder (
    workspace_id  INTEGER NOT NULL,
    contact_id    INTEGER NOT NULL,
    rung          TEXT NOT NULL,
    status        TEXT NOT NULL,
    rule_version  INTEGER NOT NULL,
    failing_since INTEGER,
    due_at        INTEGER,
    evaluated_at  INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, contact_id)
);
CREATE INDEX contact_ladder_due ON contact_ladder (workspace_id, due_at) WHERE due_at IS NOT NULL;

CREATE TABLE ladder_history (
    workspace_id INTEGER NOT NULL,
    contact_id   INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('rung', 'status')),
    from_value   TEXT NOT NULL,
    to_value     TEXT NOT NULL,
    reason       TEXT NOT NULL,
    rule_version INTEGER NOT NULL,
    metrics      TEXT NOT NULL
);
CREATE INDEX ladder_history_contact ON ladder_history (workspace_id, contact_id, at);

-- A company's ladder reads the orders placed on its account.
CREATE INDEX events_account ON events (workspace_id, account_id) WHERE account_id IS NOT NULL;
