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
