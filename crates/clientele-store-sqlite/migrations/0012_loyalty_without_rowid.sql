-- The ledger's keyed tables as WITHOUT ROWID: their rows are small and always found by
-- their primary key, so each insert updates one B-tree instead of a rowid table plus the
-- key's index. Earning on every paid order writes a row to each (BENCHMARKS.md, loyalty).
CREATE TABLE loyalty_accounts_keyed (
    workspace_id INTEGER NOT NULL,
    contact_id   INTEGER NOT NULL,
    balance      INTEGER NOT NULL CHECK (balance >= 0),
    debt         INTEGER NOT NULL CHECK (debt >= 0),
    next_lot     INTEGER NOT NULL,
    next_expiry  INTEGER,
    PRIMARY KEY (workspace_id, contact_id)
) WITHOUT ROWID;
INSERT INTO loyalty_accounts_keyed SELECT workspace_id, contact_id, balance, debt, next_lot,
    next_expiry FROM loyalty_accounts;
DROP TABLE loyalty_accounts;
ALTER TABLE loyalty_accounts_keyed RENAME TO loyalty_accounts;
CREATE INDEX loyalty_accounts_expiry ON loyalty_accounts (workspace_id, next_expiry)
    WHERE next_expiry IS NOT NULL;

CREATE TABLE loyalty_lots_keyed (
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
) WITHOUT ROWID;
INSERT INTO loyalty_lots_keyed SELECT workspace_id, contact_id, lot_no, points, remaining,
    expired, earned_at, expires_at, order_id FROM loyalty_lots;
DROP TABLE loyalty_lots;
ALTER TABLE loyalty_lots_keyed RENAME TO loyalty_lots;

CREATE TABLE loyalty_orders_keyed (
    workspace_id INTEGER NOT NULL,
    order_id     TEXT NOT NULL,
    contact_id   INTEGER NOT NULL,
    earned       INTEGER NOT NULL CHECK (earned >= 0),
    paid_total   INTEGER NOT NULL,
    kept         INTEGER NOT NULL CHECK (kept >= 0 AND kept <= earned),
    PRIMARY KEY (workspace_id, order_id)
) WITHOUT ROWID;
INSERT INTO loyalty_orders_keyed SELECT workspace_id, order_id, contact_id, earned, paid_total,
    kept FROM loyalty_orders;
DROP TABLE loyalty_orders;
ALTER TABLE loyalty_orders_keyed RENAME TO loyalty_orders;
