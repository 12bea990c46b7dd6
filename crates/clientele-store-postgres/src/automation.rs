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

/// New outbox rows, a multi-row `VALUES` per thousand; a key already there is left alone.
async fn enqueue_rows(tx: &mut Tx, steps: &[OutboxRow]) -> StoreResult<()> {
    for chunk in steps.chunks(1000) {
        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "INSERT INTO outbox (workspace_id, key, contact_id, rule, rule_version, step,
                 occurrence, context, due_at, status, attempts, created_at) ",
        );
        q.push_values(chunk, |mut b, s| {
            b.push_bind(tx.ws)
                .push_bind(&s.key)
                .push_bind(s.contact_id.0)
                .push_bind(&s.rule)
                .push_bind(s.rule_version)
                .push_bind(s.step)
                .push_bind(&s.occurrence)
                .push_bind(&s.context)
                .push_bind(s.due_at)
                .push_bind("pending")
                .push_bind(0_i64)
                .push_bind(s.created_at);
        });
        q.push(" ON CONFLICT (workspace_id, key) DO NOTHING");
        q.build().execute(&mut *tx.tx).await.map_err(other)?;
    }
    Ok(())
}

include!("../../clientele-store/sql/automation.rs");
