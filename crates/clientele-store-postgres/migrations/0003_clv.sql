-- Customer-lifetime-value results: the latest fit of each workspace (its report as JSON)
-- and what it predicts per contact. A refit replaces both in one transaction; they are
-- model output, not projections of the log, so `rebuild` leaves them alone.
CREATE TABLE clv_fits (
    workspace_id BIGINT PRIMARY KEY REFERENCES workspaces (id),
    fitted_at    BIGINT NOT NULL,
    report       TEXT NOT NULL
);

CREATE TABLE contact_clv (
    workspace_id       BIGINT NOT NULL,
    contact_id         BIGINT NOT NULL,
    p_alive            DOUBLE PRECISION NOT NULL,
    expected_purchases DOUBLE PRECISION NOT NULL,
    expected_value     BIGINT NOT NULL,
    clv                BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, contact_id)
);
