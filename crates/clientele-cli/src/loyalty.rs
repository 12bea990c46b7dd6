//! `clientele loyalty balance|history|expire-now`: operators' view of the points ledger.

use anyhow::Context;
use clap::Subcommand;
use clientele_core::ContactId;
use clientele_core::time::format_instant;
use clientele_store::{ContactQuery, Store, Workspace, now_micros};

use crate::db;

#[derive(Subcommand)]
pub enum LoyaltyCommand {
    /// A contact's balance, debt and next expiry.
    Balance {
        /// The contact: its external id, or its numeric id.
        contact: String,
        /// Workspace name (optional when there is only one).
        #[arg(long)]
        workspace: Option<String>,
    },
    /// A contact's ledger entries, newest first.
    History {
        /// The contact: its external id, or its numeric id.
        contact: String,
        /// Workspace name (optional when there is only one).
        #[arg(long)]
        workspace: Option<String>,
        /// At most this many entries.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Expire every lot that is due now, in every workspace or one.
    ExpireNow {
        /// Workspace name (all when absent).
        #[arg(long)]
        workspace: Option<String>,
    },
}

pub async fn run(command: LoyaltyCommand, database: &str) -> anyhow::Result<()> {
    let store = db::open(database).await?;
    match command {
        LoyaltyCommand::Balance { contact, workspace } => {
            let ws = db::workspace(store.as_ref(), workspace.as_deref()).await?;
            let id = find(store.as_ref(), &ws, &contact).await?;
            let a = store.loyalty_account(ws.id, id).await?;
            let (balance, debt, next) =
                a.map_or((0, 0, None), |a| (a.balance, a.debt, a.next_expiry));
            println!("contact {} ({contact})", id.0);
            println!("balance      {balance}");
            println!("debt         {debt}");
            println!(
                "next expiry  {}",
                next.map_or_else(|| "-".to_owned(), format_instant)
            );
        }
        LoyaltyCommand::History {
            contact,
            workspace,
            limit,
        } => {
            anyhow::ensure!(limit > 0, "--limit: a positive number is required");
            let ws = db::workspace(store.as_ref(), workspace.as_deref()).await?;
            let id = find(store.as_ref(), &ws, &contact).await?;
            println!("id,at,kind,points,balance_after,debt_after,reason,reference");
            for e in store.loyalty_entries(ws.id, id, None, limit).await? {
                println!(
                    "{},{},{},{},{},{},{},{}:{}",
                    e.id,
                    format_instant(e.at),
                    e.kind,
                    e.points,
                    e.balance_after,
                    e.debt_after,
                    csv_field(&e.reason),
                    e.ref_kind,
                    csv_field(&e.ref_id)
                );
            }
        }
        LoyaltyCommand::ExpireNow { workspace } => {
            let targets: Vec<Workspace> = match workspace {
                Some(name) => vec![db::workspace(store.as_ref(), Some(&name)).await?],
                None => store.workspaces().await?,
            };
            for ws in targets {
                let n = clientele_engine::loyalty::expire_due(store.as_ref(), ws.id, now_micros())
                    .await?;
                println!("{}: {n} accounts had lots expire", ws.name);
            }
        }
    }
    Ok(())
}

/// The live contact named by external id, or else by numeric id.
async fn find(store: &dyn Store, ws: &Workspace, raw: &str) -> anyhow::Result<ContactId> {
    let q = ContactQuery {
        external_id: Some(raw.to_owned()),
        limit: 2,
        ..Default::default()
    };
    if let Some(c) = store.search_contacts(ws.id, &q).await?.first() {
        return Ok(c.id);
    }
    let id = raw
        .parse::<i64>()
        .ok()
        .map(ContactId)
        .with_context(|| format!("no contact with external id {raw:?} in {}", ws.name))?;
    match store.contact(ws.id, id).await? {
        Some(c) if c.id == id => Ok(id),
        _ => anyhow::bail!("no contact {raw} in {}", ws.name),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
