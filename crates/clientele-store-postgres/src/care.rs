//! Care storage on PostgreSQL: the SQL is shared with SQLite (see the included file).

type Tx = crate::write_tx::PgWriteTx;
type Db = crate::PgStore;
type DbRow = sqlx::postgres::PgRow;

macro_rules! birthday {
    () => {
        "(custom ->> 'birthday')"
    };
}

include!("../../clientele-store/sql/care.rs");
