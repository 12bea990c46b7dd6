//! Coupons and referrals on SQLite: the SQL is shared with PostgreSQL (see the included
//! file); this module says how SQLite takes a list and sums its figures.

type Tx = crate::write_tx::SqliteWriteTx;
type Db = crate::SqliteStore;
type DbRow = sqlx::sqlite::SqliteRow;

/// A list travels as one JSON array parameter.
macro_rules! in_list {
    () => {
        "IN (SELECT value FROM json_each($2))"
    };
}

fn text_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn id_list(v: &[i64]) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

const STATS_SQL: &str = "
    SELECT r.referrer_id, COUNT(*),
           SUM(CASE WHEN r.status = 'converted' THEN 1 ELSE 0 END),
           SUM(CASE WHEN r.status = 'revoked' THEN 1 ELSE 0 END),
           COALESCE(SUM(CASE WHEN r.status = 'converted' THEN m.revenue END), 0)
    FROM referrals r
    LEFT JOIN contact_metrics m ON m.workspace_id = r.workspace_id AND m.contact_id = r.referee_id
    WHERE r.workspace_id = $1 AND ($2 IS NULL OR r.referrer_id = $2)
    GROUP BY r.referrer_id
    ORDER BY 5 DESC, 1
    LIMIT $3";

include!("../../clientele-store/sql/coupons_referrals.rs");
