-- Foundation schema (PostgreSQL). SQLite has the same tables under the same version.
-- Every key and index leads with workspace_id: a workspace's rows stay together and the
-- tables can be distributed by it (Citus) without a redesign.
-- Instants are BIGINT microseconds since the Unix epoch (UTC), the same integers as SQLite,
-- so both back ends project byte-identical rows; money is BIGINT minor units.

CREATE TABLE workspaces (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    currency     TEXT NOT NULL,
    time_zone    TEXT NOT NULL,
    phone_region TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

-- Only a SHA-256 of each token is kept: a leaked database does not leak credentials.
CREATE TABLE api_tokens (
    token_hash   BYTEA PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    label        TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

-- Contacts are never removed: a merged one points at its survivor (merged_into), a deleted
-- one has its personal fields erased (deleted_at). Ids come from the sequence in blocks, so
-- a batch can create many contacts in one statement.
CREATE SEQUENCE contacts_id_seq;
CREATE TABLE contacts (
    workspace_id    BIGINT NOT NULL REFERENCES workspaces (id),
    id              BIGINT NOT NULL DEFAULT nextval('contacts_id_seq'),
    kind            TEXT NOT NULL CHECK (kind IN ('person', 'company')),
    external_id     TEXT,
    email           TEXT,
    phone           TEXT,
    name            TEXT,
    locale          TEXT,
    time_zone       TEXT,
    tags            JSONB NOT NULL DEFAULT '[]',
    custom          JSONB NOT NULL DEFAULT '{}',
    contract_active BOOLEAN NOT NULL DEFAULT FALSE,
    ambassador      BOOLEAN NOT NULL DEFAULT FALSE,
    merged_into     BIGINT,
    deleted_at      BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX contacts_tags ON contacts USING GIN (tags);

-- Identity resolution: each normalised identifier names one live contact. A merge re-points
-- the duplicate's identifiers, so old references keep resolving.
CREATE TABLE contact_identities (
    workspace_id BIGINT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('external_id', 'email', 'phone')),
    value        TEXT NOT NULL,
    contact_id   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, kind, value)
);
CREATE INDEX contact_identities_contact ON contact_identities (workspace_id, contact_id);

CREATE TABLE company_members (
    workspace_id BIGINT NOT NULL,
    company_id   BIGINT NOT NULL,
    person_id    BIGINT NOT NULL,
    role         TEXT,
    PRIMARY KEY (workspace_id, company_id, person_id)
);

-- Consent is an append-only record: the latest row per channel is the current state.
CREATE TABLE consents (
    id           BIGINT GENERATED ALWAYS AS IDENTITY,
    workspace_id BIGINT NOT NULL,
    contact_id   BIGINT NOT NULL,
    channel      TEXT NOT NULL,
    granted      BOOLEAN NOT NULL,
    source       TEXT NOT NULL,
    recorded_at  BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX consents_contact ON consents (workspace_id, contact_id, id);

-- The append-only event log, the source of truth. order_id/amount/detail duplicate the
-- few fields of `data` the projections read, so a replay never parses JSON.
CREATE TABLE events (
    workspace_id BIGINT NOT NULL,
    seq          BIGINT GENERATED ALWAYS AS IDENTITY,
    client_id    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    received_at  BIGINT NOT NULL,
    contact_id   BIGINT NOT NULL,
    recipient_id BIGINT,
    account_id   BIGINT,
    order_id     TEXT,
    amount       BIGINT,
    detail       TEXT,
    data         JSONB NOT NULL,
    body_hash    BYTEA NOT NULL,
    PRIMARY KEY (workspace_id, seq),
    UNIQUE (workspace_id, client_id)
);
CREATE INDEX events_contact ON events (workspace_id, contact_id, seq);

-- Append-only: only a merge may re-point an event to another contact.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'events are append-only';
    END IF;
    IF (NEW.seq, NEW.workspace_id, NEW.client_id, NEW.kind, NEW.occurred_at, NEW.received_at,
        NEW.order_id, NEW.amount, NEW.detail, NEW.data, NEW.body_hash)
       IS DISTINCT FROM
       (OLD.seq, OLD.workspace_id, OLD.client_id, OLD.kind, OLD.occurred_at, OLD.received_at,
        OLD.order_id, OLD.amount, OLD.detail, OLD.data, OLD.body_hash) THEN
        RAISE EXCEPTION 'events are append-only';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- Projections, rebuilt by `clientele rebuild`.
CREATE TABLE orders (
    workspace_id   BIGINT NOT NULL,
    order_id       TEXT NOT NULL,
    contact_id     BIGINT NOT NULL,
    recipient_id   BIGINT,
    account_id     BIGINT,
    total          BIGINT NOT NULL,
    refunded       BIGINT NOT NULL,
    fully_refunded BOOLEAN NOT NULL,
    placed_at      BIGINT,
    paid_at        BIGINT,
    cancelled_at   BIGINT,
    PRIMARY KEY (workspace_id, order_id)
);
CREATE INDEX orders_contact ON orders (workspace_id, contact_id);

CREATE TABLE contact_metrics (
    workspace_id    BIGINT NOT NULL,
    contact_id      BIGINT NOT NULL,
    paid_orders     BIGINT NOT NULL,
    revenue         BIGINT NOT NULL,
    first_order_at  BIGINT,
    last_order_at   BIGINT,
    last_engaged_at BIGINT,
    interactions    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, contact_id)
);
