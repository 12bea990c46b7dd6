//! Care storage on SQLite: the SQL is shared with PostgreSQL (see the included file).

type Tx = crate::write_tx::SqliteWriteTx;
type Db = crate::SqliteStore;
type DbRow = sqlx::sqlite::SqliteRow;

macro_rules! birthday {
    () => {
        "CAST(json_extract(custom, '$.birthday') AS TEXT)"
    };
}

include!("../../clientele-store/sql/care.rs");
