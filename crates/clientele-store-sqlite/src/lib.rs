//! The SQLite back end: one file, WAL journal, `synchronous=FULL`, and every write
//! transaction begun `IMMEDIATE` so that writers queue for the lock instead of failing
//! half-way with "database is locked".

mod automation;
mod care;
mod clv;
mod coupons_referrals;
mod ladder;
mod loyalty;
mod reader;
mod rows;
mod workspaces;
mod write_tx;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use clientele_core::WorkspaceId;
use clientele_store::{Store, StoreError, StoreResult, WriteTx, Writer};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A Clientele store in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// SQLite has one writer at a time: writers of this process queue here, in order, rather
    /// than in SQLite's busy handler, which polls with sleeps (16 concurrent redemptions
    /// took five times longer that way). Other processes still meet `BEGIN IMMEDIATE`.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl SqliteStore {
    /// Open (creating if missing) the database at `url` (`sqlite:PATH` or `sqlite://PATH`).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(anyhow::anyhow!("bad SQLite URL {url:?}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30))
            .pragma("cache_size", "-16384");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(other)?;
        Ok(Self {
            pool,
            writer: Default::default(),
        })
    }

    /// The underlying pool, for tests and tools.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Wrap a database error; unique violations become `Conflict`.
pub(crate) fn other(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        return StoreError::Conflict {
            constraint: db.message().to_owned(),
        };
    }
    StoreError::Other(e.into())
}

#[async_trait]
impl Writer for SqliteStore {
    async fn begin_write(&self, ws: WorkspaceId) -> StoreResult<Box<dyn WriteTx>> {
        let turn = self.writer.clone().lock_owned().await;
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(other)?;
        Ok(Box::new(write_tx::SqliteWriteTx::new(tx, ws, turn)))
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Other(e.into()))
    }

    fn migration_versions(&self) -> Vec<i64> {
        MIGRATOR.iter().map(|m| m.version).collect()
    }

    async fn integrity_check(&self) -> StoreResult<String> {
        let row: (String,) = sqlx::query_as("PRAGMA integrity_check")
            .fetch_one(&self.pool)
            .await
            .map_err(other)?;
        Ok(row.0)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type EntryRow = (
        i64,
        i64,
        i64,
        String,
        i64,
        i64,
        String,
        String,
        String,
        i64,
        i64,
    );

    /// Migration 0013 rebuilds the ledger entries' table: a database upgraded through it
    /// keeps every entry with its id, and the rebuilt table still refuses an unknown kind.
    #[tokio::test]
    async fn upgrading_through_0013_keeps_the_ledger_entries() {
        let path = std::env::temp_dir().join(format!("clientele-0013-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let store = SqliteStore::connect(&format!("sqlite:{}", path.display()))
            .await
            .unwrap();
        MIGRATOR.run_to(12, &store.pool).await.unwrap();
        for (id, contact, kind, points, balance) in [
            (7, 1, "earn", 49, 49),
            (9, 1, "redeem", -20, 29),
            (12, 2, "adjust", 5, 5),
            (15, 1, "expire", -29, 0),
        ] {
            sqlx::query(
                "INSERT INTO loyalty_entries (id, workspace_id, contact_id, kind, points, at, reason,
                 ref_kind, ref_id, balance_after, debt_after) VALUES ($1, 1, $2, $3, $4, 100, 'why',
                 'order', 'o-1', $5, 0)",
            )
            .bind(id)
            .bind(contact)
            .bind(kind)
            .bind(points)
            .bind(balance)
            .execute(&store.pool)
            .await
            .unwrap();
        }
        let all = "SELECT * FROM loyalty_entries ORDER BY id";
        let table = "SELECT sql FROM sqlite_master WHERE name = 'loyalty_entries'";
        let before: Vec<EntryRow> = sqlx::query_as(all).fetch_all(&store.pool).await.unwrap();
        let (old,): (String,) = sqlx::query_as(table).fetch_one(&store.pool).await.unwrap();
        MIGRATOR.run(&store.pool).await.unwrap();
        let after: Vec<EntryRow> = sqlx::query_as(all).fetch_all(&store.pool).await.unwrap();
        let (new,): (String,) = sqlx::query_as(table).fetch_one(&store.pool).await.unwrap();
        assert!(old.contains("kind IN ("), "{old}");
        assert!(new.contains("kind = 'earn' OR"), "{new}");
        assert_eq!(after, before);
        let (index,): (String,) =
            sqlx::query_as("SELECT sql FROM sqlite_master WHERE name = 'loyalty_entries_contact'")
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert!(index.contains("(workspace_id, contact_id, id)"), "{index}");
        let bad = sqlx::query(
            "INSERT INTO loyalty_entries (workspace_id, contact_id, kind, points, at, reason,
             ref_kind, ref_id, balance_after, debt_after) VALUES (1, 1, 'gift', 1, 1, '', '', '', 1, 0)",
        )
        .execute(&store.pool)
        .await
        .unwrap_err();
        assert!(bad.to_string().contains("CHECK constraint failed"), "{bad}");
        // New entries still take the next id.
        sqlx::query(
            "INSERT INTO loyalty_entries (workspace_id, contact_id, kind, points, at, reason,
             ref_kind, ref_id, balance_after, debt_after) VALUES (1, 2, 'earn', 3, 1, '', '', '', 8, 0)",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        let (last,): (i64,) = sqlx::query_as("SELECT MAX(id) FROM loyalty_entries")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(last, 16);
        store.pool.close().await;
        let _ = std::fs::remove_file(&path);
    }
}
