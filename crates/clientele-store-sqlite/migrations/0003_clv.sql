-- Customer-lifetime-value results: the latest fit of each workspace (its report as JSON)
-- and what it predicts per contact. A refit replaces both in one transaction; they are
-- model output, not projections of the log, so `rebuild` leaves them alone.
CREATE TABLE clv_fits (
    workspace_id INTEGER PRIMARY KEY REFERENCES workspaces (id),
    fitted_at    INTEGER NOT NULL,
    report       TEXT NOT NULL
);

CREATE TABLE contact_clv (
    workspace_id       INTEGER NOT NULL,
    contact_id         INTEGER NOT NULL,
    p_alive            REAL NOT NULL,
    expected_purchases REAL NOT NULL,
    expected_value     INTEGER NOT NULL,
    clv                INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, contact_id)
) WITHOUT ROWID;
