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

/// New outbox rows as one JSON array (`json_each`); a key already there is left alone.
async fn enqueue_rows(tx: &mut Tx, steps: &[OutboxRow]) -> StoreResult<()> {
    let rows: Vec<_> = steps
        .iter()
        .map(|s| {
            (
                &s.key,
                s.contact_id.0,
                &s.rule,
                s.rule_version,
                s.step,
                &s.occurrence,
                &s.context,
                s.due_at,
                s.created_at,
            )
        })
        .collect();
    tx.write_packed(
        "INSERT INTO outbox (workspace_id, key, contact_id, rule, rule_version, step, occurrence,
             context, due_at, status, attempts, created_at)
         SELECT $1, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
             value ->> 6, value ->> 7, 'pending', 0, value ->> 8 FROM json_each($2)
         WHERE true
         ON CONFLICT (workspace_id, key) DO NOTHING",
        &rows,
    )
    .await
}

include!("../../clientele-store/sql/automation.rs");
