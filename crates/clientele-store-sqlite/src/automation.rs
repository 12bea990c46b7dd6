//! Automation storage on SQLite: the SQL is shared with PostgreSQL (see the included file).
//! A claim needs no row locks: the write transaction already holds SQLite's one writer.

type Tx = crate::write_tx::SqliteWriteTx;
type Db = crate::SqliteStore;
type DbRow = sqlx::sqlite::SqliteRow;

macro_rules! claim_lock {
    () => {
        ""
    };
}

include!("../../clientele-store/sql/automation.rs");
