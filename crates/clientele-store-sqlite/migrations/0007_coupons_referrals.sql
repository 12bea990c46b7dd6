-- Coupons and the referral programme. A coupon's uses are counted once per order (the
-- primary key of coupon_uses), whatever the retries; a referee is attributed once (the
-- primary key of referrals).
CREATE TABLE coupons (
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    code         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('percent', 'fixed')),
    value        INTEGER NOT NULL CHECK (value > 0),
    min_order    INTEGER NOT NULL CHECK (min_order >= 0),
    max_uses     INTEGER CHECK (max_uses > 0),
    uses         INTEGER NOT NULL CHECK (uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)),
    contact_id   INTEGER,
    expires_at   INTEGER,
    source       TEXT NOT NULL,
    source_ref   TEXT NOT NULL,
    active       BOOLEAN NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, code)
);
CREATE INDEX coupons_contact ON coupons (workspace_id, contact_id) WHERE contact_id IS NOT NULL;

CREATE TABLE coupon_uses (
    workspace_id INTEGER NOT NULL,
    code         TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    contact_id   INTEGER NOT NULL,
    order_total  INTEGER NOT NULL,
    discount     INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('applied', 'restored', 'refused')),
    reason       TEXT,
    used_at      INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, code, order_id)
);
CREATE INDEX coupon_uses_order ON coupon_uses (workspace_id, order_id);

CREATE TABLE referral_codes (
    workspace_id INTEGER NOT NULL,
    contact_id   INTEGER NOT NULL,
    code         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, contact_id),
    UNIQUE (workspace_id, code)
);
-- Referral links carry only the code.
CREATE INDEX referral_codes_code ON referral_codes (code);

CREATE TABLE referrals (
    workspace_id  INTEGER NOT NULL,
    referee_id    INTEGER NOT NULL,
    referrer_id   INTEGER NOT NULL CHECK (referrer_id <> referee_id),
    status        TEXT NOT NULL CHECK (status IN ('pending', 'converted', 'revoked', 'expired')),
    attributed_at INTEGER NOT NULL,
    window_until  INTEGER NOT NULL,
    order_id      TEXT,
    converted_at  INTEGER,
    -- What each side received, so a revocation takes exactly that back.
    referrer_points INTEGER NOT NULL DEFAULT 0,
    referee_points  INTEGER NOT NULL DEFAULT 0,
    referrer_coupon TEXT,
    referee_coupon  TEXT,
    revoked_at    INTEGER,
    PRIMARY KEY (workspace_id, referee_id)
);
CREATE INDEX referrals_referrer ON referrals (workspace_id, referrer_id);

-- A reward may hand out a coupon; its redemption remembers the code for replays.
ALTER TABLE rewards ADD COLUMN coupon TEXT;
ALTER TABLE loyalty_redemptions ADD COLUMN coupon_code TEXT;
