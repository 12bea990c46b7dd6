-- Coupons and the referral programme. A coupon's uses are counted once per order (the
-- primary key of coupon_uses), whatever the retries; a referee is attributed once (the
-- primary key of referrals).
CREATE TABLE coupons (
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
    code         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('percent', 'fixed')),
    value        BIGINT NOT NULL CHECK (value > 0),
    min_order    BIGINT NOT NULL CHECK (min_order >= 0),
    max_uses     BIGINT CHECK (max_uses > 0),
    uses         BIGINT NOT NULL CHECK (uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)),
    contact_id   BIGINT,
    expires_at   BIGINT,
    source       TEXT NOT NULL,
    source_ref   TEXT NOT NULL,
    active       BOOLEAN NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, code)
);
CREATE INDEX coupons_contact ON coupons (workspace_id, contact_id) WHERE contact_id IS NOT NULL;

CREATE TABLE coupon_uses (
    workspace_id BIGINT NOT NULL,
    code         TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    contact_id   BIGINT NOT NULL,
    order_total  BIGINT NOT NULL,
    discount     BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('applied', 'restored', 'refused')),
    reason       TEXT,
    used_at      BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, code, order_id)
);
CREATE INDEX coupon_uses_order ON coupon_uses (workspace_id, order_id);

CREATE TABLE referral_codes (
    workspace_id BIGINT NOT NULL,
    contact_id   BIGINT NOT NULL,
    code         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, contact_id),
    UNIQUE (workspace_id, code)
);
-- Referral links carry only the code.
CREATE INDEX referral_codes_code ON referral_codes (code);

CREATE TABLE referrals (
    workspace_id  BIGINT NOT NULL,
    referee_id    BIGINT NOT NULL,
    referrer_id   BIGINT NOT NULL CHECK (referrer_id <> referee_id),
    status        TEXT NOT NULL CHECK (status IN ('pending', 'converted', 'revoked', 'expired')),
    attributed_at BIGINT NOT NULL,
    window_until  BIGINT NOT NULL,
    order_id      TEXT,
    converted_at  BIGINT,
    -- What each side received, so a revocation takes exactly that back.
    referrer_points BIGINT NOT NULL DEFAULT 0,
    referee_points  BIGINT NOT NULL DEFAULT 0,
    referrer_coupon TEXT,
    referee_coupon  TEXT,
    revoked_at    BIGINT,
    PRIMARY KEY (workspace_id, referee_id)
);
CREATE INDEX referrals_referrer ON referrals (workspace_id, referrer_id);

-- A reward may hand out a coupon; its redemption remembers the code for replays.
ALTER TABLE rewards ADD COLUMN coupon TEXT;
ALTER TABLE loyalty_redemptions ADD COLUMN coupon_code TEXT;
