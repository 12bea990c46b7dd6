-- What automation hands to people: tasks for staff and support tickets, each made once per
-- key (the automation step that made it); and the days whose date triggers (birthdays,
-- first-order anniversaries) were swept, so a day is swept once whatever the servers.
CREATE TABLE tasks (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    key          TEXT NOT NULL,
    contact_id   INTEGER NOT NULL,
    title        TEXT NOT NULL,
    assignee     TEXT,
    due_at       INTEGER NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    source       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, key)
);
CREATE INDEX tasks_contact ON tasks (workspace_id, contact_id, id);

CREATE TABLE tickets (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    key          TEXT NOT NULL,
    contact_id   INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('warranty', 'return', 'complaint', 'question')),
    subject      TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open'
                 CHECK (status IN ('open', 'pending', 'resolved', 'closed')),
    source       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, key)
);
CREATE INDEX tickets_contact ON tickets (workspace_id, contact_id, id);

CREATE TABLE automation_sweeps (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    day          TEXT NOT NULL,
    swept_at     INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, day)
);
