-- The loyalty ladder. Rule sets are versioned (the latest is active); each contact keeps
-- its rung and status, when they could next change without an event (due_at, which the
-- scheduler reads through a partial index), and a history of every change with the rule
-- version, the reason and the metrics that decided it.
CREATE TABLE ladder_rules (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    version      BIGINT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, version)
);

CREATE TABLE contact_ladder (
    workspace_id  BIGINT NOT NULL,
    contact_id    BIGINT NOT NULL,
    rung          TEXT NOT NULL,
    status        TEXT NOT NULL,
    rule_version  BIGINT NOT NULL,
    failing_since BIGINT,
    due_at        BIGINT,
    evaluated_at  BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, contact_id)
);
CREATE INDEX contact_ladder_due ON contact_ladder (workspace_id, due_at) WHERE due_at IS NOT NULL;

CREATE TABLE ladder_history (
    workspace_id BIGINT NOT NULL,
    contact_id   BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('rung', 'status')),
    from_value   TEXT NOT NULL,
    to_value     TEXT NOT NULL,
    reason       TEXT NOT NULL,
    rule_version BIGINT NOT NULL,
    metrics      TEXT NOT NULL
);
CREATE INDEX ladder_history_contact ON ladder_history (workspace_id, contact_id, at);

-- A company's ladder reads the orders placed on its account.
CREATE INDEX events_account ON events (workspace_id, account_id) WHERE account_id IS NOT NULL;
