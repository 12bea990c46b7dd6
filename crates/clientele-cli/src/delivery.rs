//! `clientele delivery-agent`: the process `serve` starts to hold its SMTP connections, so
//! that the server dying between recording messages as sent and letting them go loses none
//! (the engine's `automation::agent` says how). Not for people to run.

use std::sync::Arc;
use std::time::Duration;

use clientele_core::{ContactId, WorkspaceId};
use clientele_engine::automation::{
    AgentMailer, Committed, Mailer, SmtpMailer, StepRef, run_agent,
};
use clientele_store::Store;
use tokio::sync::OnceCell;

use crate::db;

/// Start the agent for `serve`: the URL and sender are checked here first, for a clear
/// error, and handed over in its environment (never on a command line others can read).
pub fn spawn(database: &str, smtp_url: &str, smtp_from: &str) -> anyhow::Result<Arc<dyn Mailer>> {
    SmtpMailer::new(smtp_url, smtp_from).map_err(anyhow::Error::msg)?;
    let mut command = tokio::process::Command::new(std::env::current_exe()?);
    command
        .arg("delivery-agent")
        .env("CLIENTELE_DATABASE_URL", database)
        .env("CLIENTELE_SMTP_URL", smtp_url)
        .env("CLIENTELE_SMTP_FROM", smtp_from);
    Ok(Arc::new(AgentMailer::spawn(command)?))
}

/// The agent itself, on stdin and stdout.
pub async fn agent(database: &str, smtp_url: &str, smtp_from: &str) -> anyhow::Result<()> {
    let mailer = Arc::new(SmtpMailer::new(smtp_url, smtp_from).map_err(anyhow::Error::msg)?);
    let database = Arc::new(database.to_owned());
    let store: Arc<OnceCell<Arc<dyn Store>>> = Arc::default();
    let committed: Committed = Arc::new(move |steps| {
        let (database, store) = (database.clone(), store.clone());
        Box::pin(async move {
            match store.get_or_try_init(|| db::open(&database)).await {
                Ok(s) => recorded(s.as_ref(), &steps).await,
                Err(e) => {
                    tracing::error!(error = %e, "delivery agent: the database cannot be opened");
                    vec![false; steps.len()]
                }
            }
        })
    });
    let input = tokio::io::BufReader::new(tokio::io::stdin());
    run_agent(mailer, committed, input, tokio::io::stdout()).await?;
    Ok(())
}

/// Which steps the server recorded as done before it went away.
async fn recorded(store: &dyn Store, steps: &[StepRef]) -> Vec<bool> {
    let mut done = vec![false; steps.len()];
    for look in 0..2 {
        if look > 0 {
            if done.iter().all(|d| *d) {
                break;
            }
            // A commit the server sent just before it died may still be finishing in
            // PostgreSQL: look once more after it has had time to.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        for (step, done) in steps.iter().zip(done.iter_mut()) {
            if *done {
                continue;
            }
            let ws = WorkspaceId(step.workspace);
            match store.steps_of(ws, ContactId(step.contact), 1000).await {
                Ok(rows) => *done = rows.iter().any(|s| s.key == step.key && s.status == "done"),
                Err(e) => tracing::error!(error = %e, "delivery agent: reading a step"),
            }
        }
    }
    done
}
