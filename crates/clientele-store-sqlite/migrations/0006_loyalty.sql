-- The loyalty program. Every change of points is an immutable entry; the account keeps the
-- balance (the sum of its open lots) and the debt (reversed points that were already spent);
-- CHECKs are the backstop should anything but the ledger code ever write here.
CREATE TABLE loyalty_rules (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    version      INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, version)
);

CREATE TABLE loyalty_accounts (
    workspace_id INTEGER NOT NULL,
    contact_id   INTEGER NOT NULL,
    balance      INTEGER NOT NULL CHECK (balance >= 0),
    debt         INTEGER NOT NULL CHECK (debt >= 0),
    next_lot     INTEGER NOT NULL,
    next_expiry  INTEGER,
    PRIMARY KEY (workspace_id, contact_id)
);
-- The scheduler reads only accounts with a lot due.
CREATE INDEX loyalty_accounts_expiry ON loyalty_accounts (workspace_id, next_expiry)
    WHERE next_expiry IS NOT NULL;

CREATE TABLE loyalty_lots (
    workspace_id INTEGER NOT NULL,
    contact_id   INTEGER NOT NULL,
    lot_no       INTEGER NOT NULL,
    points       INTEGER NOT NULL CHECK (points > 0),
    remaining    INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    expired      INTEGER NOT NULL CHECK (expired >= 0 AND expired <= points),
    earned_at    INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    order_id     TEXT,
    PRIMARY KEY (workspace_id, contact_id, lot_no)
);

CREATE TABLE loyalty_entries (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL,
    contact_id    INTEGER NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('earn', 'redeem', 'expire', 'adjust', 'reverse')),
    points        INTEGER NOT NULL CHECK (points <> 0),
    at            INTEGER NOT NULL,
    reason        TEXT NOT NULL,
    ref_kind      TEXT NOT NULL,
    ref_id        TEXT NOT NULL,
    balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
    debt_after    INTEGER NOT NULL CHECK (debt_after >= 0)
);
CREATE INDEX loyalty_entries_contact ON loyalty_entries (workspace_id, contact_id, id);

-- What each order earned and still keeps, so a refund takes back its share exactly once.
CREATE TABLE loyalty_orders (
    workspace_id INTEGER NOT NULL,
    order_id     TEXT NOT NULL,
    contact_id   INTEGER NOT NULL,
    earned       INTEGER NOT NULL CHECK (earned >= 0),
    paid_total   INTEGER NOT NULL,
    kept         INTEGER NOT NULL CHECK (kept >= 0 AND kept <= earned),
    PRIMARY KEY (workspace_id, order_id)
);

CREATE TABLE rewards (
    id            INTEGER PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    name          TEXT NOT NULL,
    cost_points   INTEGER NOT NULL CHECK (cost_points > 0),
    stock         INTEGER CHECK (stock >= 0),
    valid_from    INTEGER,
    valid_until   INTEGER,
    rung_required TEXT,
    active        BOOLEAN NOT NULL
);
CREATE INDEX rewards_workspace ON rewards (workspace_id, id);

CREATE TABLE loyalty_redemptions (
    id              INTEGER PRIMARY KEY,
    workspace_id    INTEGER NOT NULL,
    contact_id      INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    points          INTEGER NOT NULL CHECK (points > 0),
    reward_id       INTEGER,
    balance_after   INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (workspace_id, idempotency_key)
);
