//! Automation storage on PostgreSQL: the SQL is shared with SQLite (see the included file).
//! A claim skips rows another runner holds, so runners never wait on each other.

type Tx = crate::write_tx::PgWriteTx;
type Db = crate::PgStore;
type DbRow = sqlx::postgres::PgRow;

macro_rules! claim_lock {
    () => {
        "FOR UPDATE SKIP LOCKED"
    };
}

include!("../../clientele-store/sql/automation.rs");
