//! `clientele loyalty balance|history|expire-now|coupons|referrals`: operators' view of the
//! points ledger, issuing coupons, and the referral programme's figures.

use anyhow::Context;
use clap::Subcommand;
use clientele_core::ContactId;
use clientele_core::time::{format_instant, parse_instant};
use clientele_engine::loyalty::coupons::{self, CouponSpec};
use clientele_loyalty::coupon::{Discount, display_code};
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
    /// Issue coupons and print their codes, one per line.
    Coupons {
        /// `percent` (1–100) or `fixed` (an amount in minor units).
        #[arg(long)]
        kind: String,
        /// The percentage or the amount.
        #[arg(long)]
        value: i64,
        /// How many codes.
        #[arg(long, default_value_t = 1)]
        count: usize,
        /// Uses per code (0 = unlimited).
        #[arg(long, default_value_t = 1)]
        max_uses: i64,
        /// Smallest order total, minor units.
        #[arg(long, default_value_t = 0)]
        min_order: i64,
        /// Only this contact may use them (external id or numeric id).
        #[arg(long)]
        contact: Option<String>,
        /// Usable before this instant (RFC 3339).
        #[arg(long)]
        expires: Option<String>,
        /// Workspace name (optional when there is only one).
        #[arg(long)]
        workspace: Option<String>,
    },
    /// Figures per referrer, most revenue first (CSV).
    Referrals {
        /// Workspace name (optional when there is only one).
        #[arg(long)]
        workspace: Option<String>,
        /// At most this many referrers.
        #[arg(long, default_value_t = 50)]
        limit: i64,
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
        LoyaltyCommand::Coupons {
            kind,
            value,
            count,
            max_uses,
            min_order,
            contact,
            expires,
            workspace,
        } => {
            let ws = db::workspace(store.as_ref(), workspace.as_deref()).await?;
            let discount = Discount::new(&kind, value).map_err(anyhow::Error::msg)?;
            anyhow::ensure!(max_uses >= 0, "--max-uses: 0 (unlimited) or more");
            anyhow::ensure!(min_order >= 0, "--min-order: 0 or more");
            let contact_id = match contact {
                Some(c) => Some(find(store.as_ref(), &ws, &c).await?),
                None => None,
            };
            let expires_at = expires
                .as_deref()
                .map(parse_instant)
                .transpose()
                .map_err(|r| anyhow::anyhow!("--expires: {r}"))?;
            let spec = CouponSpec {
                discount,
                min_order,
                max_uses: (max_uses > 0).then_some(max_uses),
                contact_id,
                expires_at,
            };
            let rows = coupons::issue(store.as_ref(), ws.id, &spec, count, "cli", now_micros())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for c in rows {
                println!("{}", display_code(&c.code));
            }
        }
        LoyaltyCommand::Referrals { workspace, limit } => {
            anyhow::ensure!(limit > 0, "--limit: a positive number is required");
            let ws = db::workspace(store.as_ref(), workspace.as_deref()).await?;
            println!("referrer_id,invited,converted,revoked,revenue");
            for s in store.referral_stats(ws.id, None, limit).await? {
                let (i, c, r) = (s.invited, s.converted, s.revoked);
                println!("{},{i},{c},{r},{}", s.referrer_id.0, s.revenue);
            }
        }
    }
    Ok(())
}

/// The live contact named by external id, or else by numeric id.
pub(crate) async fn find(
    store: &dyn Store,
    ws: &Workspace,
    raw: &str,
) -> anyhow::Result<ContactId> {
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

pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
