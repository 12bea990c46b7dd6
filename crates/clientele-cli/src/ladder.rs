//! `clientele ladder [contacts]`: the funnel (contacts and revenue per rung and per status)
//! or one line per contact, as of now or any date, with the active rules or a rule file.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use clientele_core::money::Currency;
use clientele_core::time::{DAY, parse_date, parse_time_zone, start_of_day};
use clientele_engine::ladder::{Classified, classify_all, current_rules};
use clientele_ladder::{RuleSet, Rung, Status};
use clientele_store::now_micros;
use serde_json::json;

use crate::db;

#[derive(Clone, Copy, ValueEnum)]
pub enum LadderFormat {
    /// A readable table.
    Table,
    /// CSV with a header.
    Csv,
    /// JSON.
    Json,
}

#[derive(Subcommand)]
pub enum LadderCommand {
    /// One line per contact (`external_id,rung,status`), sorted by external id.
    Contacts,
}

/// Options of `ladder` and `ladder contacts`.
#[derive(Args)]
pub struct LadderArgs {
    #[command(subcommand)]
    command: Option<LadderCommand>,
    /// Workspace name (optional when there is only one).
    #[arg(long, global = true)]
    workspace: Option<String>,
    /// Classify as of the end of this day (YYYY-MM-DD, the workspace's time zone).
    #[arg(long, global = true)]
    as_of: Option<String>,
    /// Classify with this rule file (TOML) instead of the active rules; nothing is written.
    #[arg(long, global = true)]
    rules: Option<PathBuf>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value = "table")]
    format: LadderFormat,
}

pub async fn run(args: LadderArgs, database: &str) -> anyhow::Result<()> {
    let store = db::open(database).await?;
    let ws = db::workspace(store.as_ref(), args.workspace.as_deref()).await?;
    let as_of = match &args.as_of {
        None => now_micros(),
        Some(text) => {
            let date = parse_date(text).map_err(|e| anyhow::anyhow!("--as-of: {e}"))?;
            let tz = parse_time_zone(&ws.time_zone).map_err(anyhow::Error::msg)?;
            // "As of a day" is its last instant.
            start_of_day(date, &tz).map_err(|e| anyhow::anyhow!("--as-of: {e}"))? + DAY - 1
        }
    };
    let (label, rules) = match &args.rules {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--rules: reading {}", path.display()))?;
            let rules = RuleSet::from_toml(&text)
                .map_err(|e| anyhow::anyhow!("--rules: {}: {e}", path.display()))?;
            (path.display().to_string(), rules)
        }
        None => {
            let (version, rules) = current_rules(store.as_ref(), ws.id).await?;
            (format!("version {version}"), rules)
        }
    };
    let mut all = classify_all(store.as_ref(), ws.id, &rules, as_of).await?;
    store.close().await;
    let scale = Currency::parse(&ws.currency)
        .map_err(anyhow::Error::msg)?
        .minor_per_major() as f64;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.command {
        Some(LadderCommand::Contacts) => {
            all.sort_by(|a, b| {
                a.external_id
                    .cmp(&b.external_id)
                    .then(a.contact_id.cmp(&b.contact_id))
            });
            print_contacts(&mut out, &all, args.format)?;
        }
        None => print_funnel(&mut out, &all, args.format, &label, scale, &ws.currency)?,
    }
    out.flush()?;
    Ok(())
}

fn external(c: &Classified) -> String {
    c.external_id
        .clone()
        .unwrap_or_else(|| c.contact_id.0.to_string())
}

fn print_contacts(
    out: &mut impl Write,
    all: &[Classified],
    format: LadderFormat,
) -> anyhow::Result<()> {
    match format {
        LadderFormat::Csv => {
            writeln!(out, "external_id,rung,status")?;
            for c in all {
                writeln!(out, "{},{},{}", csv_field(&external(c)), c.rung, c.status)?;
            }
        }
        LadderFormat::Table => {
            writeln!(out, "{:<24} {:<12} {:<8}", "external_id", "rung", "status")?;
            for c in all {
                writeln!(out, "{:<24} {:<12} {:<8}", external(c), c.rung, c.status)?;
            }
        }
        LadderFormat::Json => {
            let rows: Vec<_> = all
                .iter()
                .map(|c| json!({"external_id": c.external_id, "contact_id": c.contact_id.0, "rung": c.rung, "status": c.status}))
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        }
    }
    Ok(())
}

/// Quote a CSV field when it needs it.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn print_funnel(
    out: &mut impl Write,
    all: &[Classified],
    format: LadderFormat,
    rules: &str,
    scale: f64,
    currency: &str,
) -> anyhow::Result<()> {
    let rungs: Vec<(Rung, usize, i64)> = Rung::ALL
        .iter()
        .rev()
        .map(|r| {
            let on: Vec<&Classified> = all.iter().filter(|c| c.rung == *r).collect();
            (*r, on.len(), on.iter().map(|c| c.revenue).sum())
        })
        .collect();
    let statuses: Vec<(Status, usize, i64)> = Status::ALL
        .iter()
        .map(|s| {
            let on: Vec<&Classified> = all.iter().filter(|c| c.status == *s).collect();
            (*s, on.len(), on.iter().map(|c| c.revenue).sum())
        })
        .collect();
    let major = |minor: i64| minor as f64 / scale;
    match format {
        LadderFormat::Table => {
            writeln!(out, "{} contacts, rules {rules}", all.len())?;
            writeln!(
                out,
                "{:<12} {:>10} {:>16}",
                "rung",
                "contacts",
                format!("revenue {currency}")
            )?;
            for (r, n, rev) in &rungs {
                writeln!(out, "{:<12} {n:>10} {:>16.2}", r.name(), major(*rev))?;
            }
            writeln!(
                out,
                "{:<12} {:>10} {:>16}",
                "status",
                "contacts",
                format!("revenue {currency}")
            )?;
            for (s, n, rev) in &statuses {
                writeln!(out, "{:<12} {n:>10} {:>16.2}", s.name(), major(*rev))?;
            }
        }
        LadderFormat::Csv => {
            writeln!(out, "group,name,contacts,revenue")?;
            for (r, n, rev) in &rungs {
                writeln!(out, "rung,{},{n},{:.2}", r.name(), major(*rev))?;
            }
            for (s, n, rev) in &statuses {
                writeln!(out, "status,{},{n},{:.2}", s.name(), major(*rev))?;
            }
        }
        LadderFormat::Json => {
            let doc = json!({
                "contacts": all.len(),
                "rules": rules,
                "currency": currency,
                "rungs": rungs.iter().map(|(r, n, rev)| json!({"rung": r, "contacts": n, "revenue": major(*rev)})).collect::<Vec<_>>(),
                "statuses": statuses.iter().map(|(s, n, rev)| json!({"status": s, "contacts": n, "revenue": major(*rev)})).collect::<Vec<_>>(),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    Ok(())
}
