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

/// New outbox rows, pending; a key already there is left alone.
async fn enqueue_rows(tx: &mut Tx, steps: &[OutboxRow]) -> StoreResult<()> {
    tx.insert_rows(
        "INSERT INTO outbox (workspace_id, key, contact_id, rule, rule_version, step, occurrence,
             context, due_at, created_at, status, attempts) ",
        steps,
        " ON CONFLICT (workspace_id, key) DO NOTHING",
        |b, s| {
            b.push_bind(s.key.as_str())
                .push_bind(s.contact_id.0)
                .push_bind(s.rule.as_str())
                .push_bind(s.rule_version)
                .push_bind(s.step)
                .push_bind(s.occurrence.as_str())
                .push_bind(s.context.as_str())
                .push_bind(s.due_at)
                .push_bind(s.created_at)
                .push_bind("pending")
                .push_bind(0_i64);
        },
    )
    .await
}

include!("../../clientele-store/sql/automation.rs");
