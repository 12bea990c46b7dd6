-- Foundation schema (SQLite). PostgreSQL has the same tables under the same version.
-- Every key and index leads with workspace_id: a workspace's rows stay together, and the
-- PostgreSQL twin can be distributed by it later without a redesign.
-- Instants are INTEGER microseconds since the Unix epoch (UTC); money is INTEGER minor units.

CREATE TABLE workspaces (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    currency     TEXT NOT NULL,
    time_zone    TEXT NOT NULL,
    phone_region TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

-- Only a SHA-256 of each token is kept: a leaked database does not leak credentials.
CREATE TABLE api_tokens (
    token_hash   BLOB PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    label        TEXT NOT NULL,
    created_at   INTEGER NOT NULL
) WITHOUT ROWID;

-- Contacts are never removed: a merged one points at its survivor (merged_into), a deleted
-- one has its personal fields erased (deleted_at). Ids are allocated by the writer, which
-- holds the write lock, so a batch can create many contacts in one statement.
CREATE TABLE contacts (
    id              INTEGER PRIMARY KEY,
    workspace_id    INTEGER NOT NULL REFERENCES workspaces (id),
    kind            TEXT NOT NULL CHECK (kind IN ('person', 'company')),
    external_id     TEXT,
    email           TEXT,
    phone           TEXT,
    name            TEXT,
    locale          TEXT,
    time_zone       TEXT,
    tags            TEXT NOT NULL DEFAULT '[]',
    custom          TEXT NOT NULL DEFAULT '{}',
    contract_active INTEGER NOT NULL DEFAULT 0,
    ambassador      INTEGER NOT NULL DEFAULT 0,
    merged_into     INTEGER,
    deleted_at      INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX contacts_workspace ON contacts (workspace_id, id);

-- Identity resolution: each normalised identifier names one live contact. A merge re-points
-- the duplicate's identifiers, so old references keep resolving.
CREATE TABLE contact_identities (
    workspace_id INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('external_id', 'email', 'phone')),
    value        TEXT NOT NULL,
    contact_id   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, kind, value)
) WITHOUT ROWID;
CREATE INDEX contact_identities_contact ON contact_identities (workspace_id, contact_id);

CREATE TABLE company_members (
    workspace_id INTEGER NOT NULL,
    company_id   INTEGER NOT NULL,
    person_id    INTEGER NOT NULL,
    role         TEXT,
    PRIMARY KEY (workspace_id, company_id, person_id)
) WITHOUT ROWID;

-- Consent is an append-only record: the latest row per channel is the current state.
CREATE TABLE consents (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    contact_id   INTEGER NOT NULL,
    channel      TEXT NOT NULL,
    granted      INTEGER NOT NULL,
    source       TEXT NOT NULL,
    recorded_at  INTEGER NOT NULL
);
CREATE INDEX consents_contact ON consents (workspace_id, contact_id, id);

-- The append-only event log, the source of truth. order_id/amount/detail duplicate the
-- few fields of `data` the projections read, so a replay never parses JSON.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL,
    client_id    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    occurred_at  INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    contact_id   INTEGER NOT NULL,
    recipient_id INTEGER,
    account_id   INTEGER,
    order_id     TEXT,
    amount       INTEGER,
    detail       TEXT,
    data         TEXT NOT NULL,
    body_hash    BLOB NOT NULL,
    UNIQUE (workspace_id, client_id)
);
CREATE INDEX events_contact ON events (workspace_id, contact_id, seq);

-- Append-only: only a merge may re-point an event to another contact.
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TRIGGER events_no_rewrite BEFORE UPDATE OF seq, workspace_id, client_id, kind, occurred_at,
    received_at, order_id, amount, detail, data, body_hash ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

-- Projections, rebuilt by `clientele rebuild`.
CREATE TABLE orders (
    workspace_id   INTEGER NOT NULL,
    order_id       TEXT NOT NULL,
    contact_id     INTEGER NOT NULL,
    recipient_id   INTEGER,
    account_id     INTEGER,
    total          INTEGER NOT NULL,
    refunded       INTEGER NOT NULL,
    fully_refunded INTEGER NOT NULL,
    placed_at      INTEGER,
    paid_at        INTEGER,
    cancelled_at   INTEGER,
    PRIMARY KEY (workspace_id, order_id)
) WITHOUT ROWID;
CREATE INDEX orders_contact ON orders (workspace_id, contact_id);

CREATE TABLE contact_metrics (
    workspace_id    INTEGER NOT NULL,
    contact_id      INTEGER NOT NULL,
    paid_orders     INTEGER NOT NULL,
    revenue         INTEGER NOT NULL,
    first_order_at  INTEGER,
    last_order_at   INTEGER,
    last_engaged_at INTEGER,
    interactions    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, contact_id)
) WITHOUT ROWID;
