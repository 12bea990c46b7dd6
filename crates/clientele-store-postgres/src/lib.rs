//! The PostgreSQL back end. Writers of one workspace are serialised by a transaction-scoped
//! advisory lock, so the engine's read-decide-write steps are atomic under READ COMMITTED
//! while other workspaces write in parallel.

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

use std::time::Duration;

use async_trait::async_trait;
use clientele_core::WorkspaceId;
use clientele_store::{Store, StoreError, StoreResult, WriteTx, Writer};
use sqlx::postgres::{PgPool, PgPoolOptions};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A Clientele store in a PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connect to `postgres://…`.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await
            .map_err(other)?;
        Ok(Self { pool })
    }

    /// The underlying pool, for tests and tools.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Wrap a database error; unique violations become `Conflict`.
pub(crate) fn other(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        return StoreError::Conflict {
            constraint: db.constraint().unwrap_or("unique").to_owned(),
        };
    }
    StoreError::Other(e.into())
}

impl PgStore {
    /// Begin a transaction holding the workspace's write lock until it ends: one writer per
    /// workspace at a time, since ingest reads projections, folds events in and writes them
    /// back, which must not interleave with another batch of the same tenant.
    ///
    /// The transaction plans each statement for its own arguments and the tables' current
    /// sizes (`plan_cache_mode`, for this transaction only). A cached generic plan keeps the
    /// row counts seen when it was made: one made while a workspace's orders were few went
    /// on scanning them all and testing each against the batch's keys, and a batch of 1 000
    /// took 400 ms once there were 40 000 orders (BENCHMARKS.md, loyalty). Planning again
    /// costs tens of microseconds a statement; a statement sent unnamed instead would also
    /// cost a round trip.
    pub(crate) async fn lock_workspace(
        &self,
        ws: WorkspaceId,
    ) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.begin_planned(Some(ws)).await
    }

    /// A transaction that plans each statement for its arguments and, given a workspace,
    /// holds its write lock; both in one statement, so a write costs no extra round trip.
    async fn begin_planned(
        &self,
        lock: Option<WorkspaceId>,
    ) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        let mut tx = self.pool.begin().await.map_err(other)?;
        let query = match lock {
            Some(ws) => sqlx::query(
                "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), pg_advisory_xact_lock($1)",
            )
            .bind(ws.0),
            None => sqlx::query("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)"),
        };
        query.execute(&mut *tx).await.map_err(other)?;
        Ok(tx)
    }
}

#[async_trait]
impl Writer for PgStore {
    async fn begin_write(&self, ws: WorkspaceId) -> StoreResult<Box<dyn WriteTx>> {
        Ok(Box::new(write_tx::PgWriteTx::new(
            self.lock_workspace(ws).await?,
            ws,
        )))
    }

    /// The claim's `FOR UPDATE SKIP LOCKED` is its own lock: the automation runner's pass
    /// used to queue behind every ingest batch (the slow `pg_advisory_xact_lock` in the log).
    async fn begin_claim(&self, ws: WorkspaceId) -> StoreResult<Box<dyn WriteTx>> {
        Ok(Box::new(write_tx::PgWriteTx::new(
            self.begin_planned(None).await?,
            ws,
        )))
    }
}

#[async_trait]
impl Store for PgStore {
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
        // PostgreSQL checksums its own pages; a query answering is the check we can make.
        let (ok,): (String,) = sqlx::query_as("SELECT 'ok'::text")
            .fetch_one(&self.pool)
            .await
            .map_err(other)?;
        Ok(ok)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test server's URL (`scripts/test` starts it).
    fn server_url() -> String {
        std::env::var("CLIENTELE_TEST_POSTGRES_URL")
            .expect("CLIENTELE_TEST_POSTGRES_URL is not set: run the tests with scripts/test")
    }

    /// A pool of one connection, so consecutive statements share a session.
    async fn one_connection(url: &str) -> PgPool {
        PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .unwrap()
    }

    /// A database of its own on the test server, for tests that migrate or lock.
    struct Scratch {
        admin: PgPool,
        name: String,
        url: String,
    }

    impl Scratch {
        async fn new(tag: &str) -> Self {
            let admin_url = server_url();
            let admin = one_connection(&admin_url).await;
            let name = format!("clientele_{tag}_{}", std::process::id());
            let scratch = Self {
                url: format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0),
                admin,
                name,
            };
            scratch.drop_database().await;
            let create = format!("CREATE DATABASE {}", scratch.name);
            sqlx::query(sqlx::AssertSqlSafe(create))
                .execute(&scratch.admin)
                .await
                .unwrap();
            scratch
        }

        async fn drop_database(&self) {
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            sqlx::query(sqlx::AssertSqlSafe(drop))
                .execute(&self.admin)
                .await
                .unwrap();
        }

        async fn remove(self) {
            self.drop_database().await;
        }
    }

    /// Write transactions plan each statement for its arguments; the setting ends with the
    /// transaction, so the pool's other users keep PostgreSQL's default.
    #[tokio::test]
    async fn write_transactions_plan_for_their_arguments() {
        let store = PgStore {
            pool: one_connection(&server_url()).await,
        };
        let show = "SELECT current_setting('plan_cache_mode')";
        let mut tx = store.lock_workspace(WorkspaceId(1)).await.unwrap();
        let (mode,): (String,) = sqlx::query_as(show).fetch_one(&mut *tx).await.unwrap();
        assert_eq!(mode, "force_custom_plan");
        tx.commit().await.unwrap();
        // The same (only) connection, after the transaction.
        let (mode,): (String,) = sqlx::query_as(show).fetch_one(&store.pool).await.unwrap();
        assert_eq!(mode, "auto");
    }

    /// A claim of due steps does not wait for the workspace's write lock: it proceeds
    /// while a write transaction of the same workspace is open.
    #[tokio::test]
    async fn claims_do_not_queue_behind_a_workspace_writer() {
        let scratch = Scratch::new("claim").await;
        let store = PgStore::connect(&scratch.url).await.unwrap();
        store.migrate().await.unwrap();
        let ws = WorkspaceId(1);
        let writer = store.begin_write(ws).await.unwrap();
        let claim = async {
            let mut tx = store.begin_claim(ws).await?;
            let steps = tx.claim_due(10, 20, 100).await?;
            tx.commit().await?;
            StoreResult::Ok(steps)
        };
        // A claim that queued for the lock would wait for `writer`, which is held here.
        let steps = tokio::time::timeout(Duration::from_secs(30), claim)
            .await
            .expect("the claim waited for the workspace's write lock")
            .unwrap();
        assert!(steps.is_empty());
        writer.commit().await.unwrap();
        store.close().await;
        scratch.remove().await;
    }

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

    /// Migration 0013 re-keys the ledger entries by (workspace, contact, id): a database
    /// upgraded through it keeps every entry, and new entries still take the next id.
    #[tokio::test]
    async fn upgrading_through_0013_keeps_the_ledger_entries() {
        let scratch = Scratch::new("0013").await;
        let pool = one_connection(&scratch.url).await;
        MIGRATOR.run_to(12, &pool).await.unwrap();
        for (contact, kind, points, balance) in [
            (1, "earn", 49, 49),
            (1, "redeem", -20, 29),
            (2, "adjust", 5, 5),
        ] {
            sqlx::query(
                "INSERT INTO loyalty_entries (workspace_id, contact_id, kind, points, at, reason,
                 ref_kind, ref_id, balance_after, debt_after) VALUES (1, $1, $2, $3, 100, 'why',
                 'order', 'o-1', $4, 0)",
            )
            .bind(contact)
            .bind(kind)
            .bind(points)
            .bind(balance)
            .execute(&pool)
            .await
            .unwrap();
        }
        let all = "SELECT * FROM loyalty_entries ORDER BY id";
        let before: Vec<EntryRow> = sqlx::query_as(all).fetch_all(&pool).await.unwrap();
        MIGRATOR.run(&pool).await.unwrap();
        let after: Vec<EntryRow> = sqlx::query_as(all).fetch_all(&pool).await.unwrap();
        assert_eq!(after, before);
        let (key,): (String,) = sqlx::query_as(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'loyalty_entries_pkey'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(key, "PRIMARY KEY (workspace_id, contact_id, id)");
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO loyalty_entries (workspace_id, contact_id, kind, points, at, reason,
             ref_kind, ref_id, balance_after, debt_after) VALUES (1, 2, 'earn', 3, 1, '', '', '', 8, 0)
             RETURNING id",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(id, before.last().unwrap().0 + 1);
        pool.close().await;
        scratch.remove().await;
    }
}
