//! Coupons and referrals on PostgreSQL: the SQL is shared with SQLite (see the included
//! file); this module says how PostgreSQL takes a list and sums its figures.

type Tx = crate::write_tx::PgWriteTx;
type Db = crate::PgStore;
type DbRow = sqlx::postgres::PgRow;

/// A list travels as one array parameter.
macro_rules! in_list {
    () => {
        "= ANY($2)"
    };
}

fn text_list(v: &[String]) -> Vec<String> {
    v.to_vec()
}

fn id_list(v: &[i64]) -> Vec<i64> {
    v.to_vec()
}

const STATS_SQL: &str = "
    SELECT r.referrer_id, COUNT(*),
           COUNT(*) FILTER (WHERE r.status = 'converted'),
           COUNT(*) FILTER (WHERE r.status = 'revoked'),
           COALESCE(SUM(m.revenue) FILTER (WHERE r.status = 'converted'), 0)::BIGINT
    FROM referrals r
    LEFT JOIN contact_metrics m ON m.workspace_id = r.workspace_id AND m.contact_id = r.referee_id
    WHERE r.workspace_id = $1 AND ($2::BIGINT IS NULL OR r.referrer_id = $2)
    GROUP BY r.referrer_id
    ORDER BY 5 DESC, 1
    LIMIT $3";

include!("../../clientele-store/sql/coupons_referrals.rs");
