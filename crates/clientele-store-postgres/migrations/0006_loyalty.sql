-- The loyalty program. Every change of points is an immutable entry; the account keeps the
-- balance (the sum of its open lots) and the debt (reversed points that were already spent);
-- CHECKs are the backstop should anything but the ledger code ever write here.
CREATE TABLE loyalty_rules (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    version      BIGINT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, version)
);

CREATE TABLE loyalty_accounts (
    workspace_id BIGINT NOT NULL,
    contact_id   BIGINT NOT NULL,
    balance      BIGINT NOT NULL CHECK (balance >= 0),
    debt         BIGINT NOT NULL CHECK (debt >= 0),
    next_lot     BIGINT NOT NULL,
    next_expiry  BIGINT,
    PRIMARY KEY (workspace_id, contact_id)
);
-- The scheduler reads only accounts with a lot due.
CREATE INDEX loyalty_accounts_expiry ON loyalty_accounts (workspace_id, next_expiry)
    WHERE next_expiry IS NOT NULL;

CREATE TABLE loyalty_lots (
    workspace_id BIGINT NOT NULL,
    contact_id   BIGINT NOT NULL,
    lot_no       BIGINT NOT NULL,
    points       BIGINT NOT NULL CHECK (points > 0),
    remaining    BIGINT NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    expired      BIGINT NOT NULL CHECK (expired >= 0 AND expired <= points),
    earned_at    BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    order_id     TEXT,
    PRIMARY KEY (workspace_id, contact_id, lot_no)
);

CREATE TABLE loyalty_entries (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  BIGINT NOT NULL,
    contact_id    BIGINT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('earn', 'redeem', 'expire', 'adjust', 'reverse')),
    points        BIGINT NOT NULL CHECK (points <> 0),
    at            BIGINT NOT NULL,
    reason        TEXT NOT NULL,
    ref_kind      TEXT NOT NULL,
    ref_id        TEXT NOT NULL,
    balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
    debt_after    BIGINT NOT NULL CHECK (debt_after >= 0)
);
CREATE INDEX loyalty_entries_contact ON loyalty_entries (workspace_id, contact_id, id);

-- What each order earned and still keeps, so a refund takes back its share exactly once.
CREATE TABLE loyalty_orders (
    workspace_id BIGINT NOT NULL,
    order_id     TEXT NOT NULL,
    contact_id   BIGINT NOT NULL,
    earned       BIGINT NOT NULL CHECK (earned >= 0),
    paid_total   BIGINT NOT NULL,
    kept         BIGINT NOT NULL CHECK (kept >= 0 AND kept <= earned),
    PRIMARY KEY (workspace_id, order_id)
);

CREATE TABLE rewards (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  BIGINT NOT NULL REFERENCES workspaces (id),
    name          TEXT NOT NULL,
    cost_points   BIGINT NOT NULL CHECK (cost_points > 0),
    stock         BIGINT CHECK (stock >= 0),
    valid_from    BIGINT,
    valid_until   BIGINT,
    rung_required TEXT,
    active        BOOLEAN NOT NULL
);
CREATE INDEX rewards_workspace ON rewards (workspace_id, id);

CREATE TABLE loyalty_redemptions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id    BIGINT NOT NULL,
    contact_id      BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL,
    points          BIGINT NOT NULL CHECK (points > 0),
    reward_id       BIGINT,
    balance_after   BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (workspace_id, idempotency_key)
);
