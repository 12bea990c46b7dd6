//! `clientele automation list|validate|enable|disable|dry-run|runs`: operators' view of
//! automated care — the active rules, checking a rule-set file, switching a rule on or off,
//! what a rule set would do now, and per contact every step of its runs and the messages
//! sent.

use clap::Subcommand;
use clientele_automation::{Action, Trigger};
use clientele_core::time::format_instant;
use clientele_store::now_micros;

use crate::{db, loyalty};

#[derive(Subcommand)]
pub enum AutomationCommand {
    /// The active rules: name, on/off, trigger and actions (tab-separated).
    List {
        /// Workspace name (optional when there is only one).
        #[arg(long)]
        workspace: Option<String>,
    },
    /// Check a rule-set file (JSON, as `POST /api/v1/automation/rules` takes) without
    /// storing it: the first mistake with its path, or how many rules and templates.
    Validate {
        /// The document.
        file: std::path::PathBuf,
    },
    /// Switch a rule on (as the next version of the active set).
    Enable {
        /// The rule's name.
        name: String,
        /// Workspace name (optional when there is only one).
        #[arg(long)]
        workspace: Option<String>,
    },
    /// Switch a rule off (as the next version; runs already started go on).
    Disable {
        /// The rule's name.
        name: String,
        /// Workspace name (optional when there is only one).
        #[arg(long)]
        workspace: Option<String>,
    },
    /// What a rule set would do now: per enabled rule, how many contacts stand where its
    /// trigger leads, the first of them, and its messages rendered for the first. Nothing
    /// is sent or written.
    DryRun {
        /// A rule-set document (JSON, as `POST /api/v1/automation/rules` takes); the
        /// active set without it.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// Contacts shown per rule.
        #[arg(long, default_value_t = 5)]
        sample: usize,
        /// Workspace name (optional when there is only one).
        #[arg(long)]
        workspace: Option<String>,
    },
    /// A contact's runs: every step with its outcome, then the messages (CSV).
    Runs {
        /// The contact: its external id, or its numeric id.
        contact: String,
        /// Workspace name (optional when there is only one).
        #[arg(long)]
        workspace: Option<String>,
    },
}

/// A rule-set document from a file, checked; errors name the file and the path inside.
fn read_rules(path: &std::path::Path) -> anyhow::Result<clientele_automation::RuleSet> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: line {}: {e}", path.display(), e.line()))?;
    clientele_automation::RuleSet::from_json(&doc)
        .map_err(|e| anyhow::anyhow!("{}: {}: {}", path.display(), e.path, e.reason))
}

pub async fn run(command: AutomationCommand, database: &str) -> anyhow::Result<()> {
    if let AutomationCommand::Validate { file } = &command {
        let set = read_rules(file)?;
        println!(
            "{}: valid ({} rules, {} templates)",
            file.display(),
            set.rules.len(),
            set.templates.len()
        );
        return Ok(());
    }
    let enabling = matches!(command, AutomationCommand::Enable { .. });
    let store = db::open(database).await?;
    match command {
        AutomationCommand::Validate { .. } => unreachable!("handled above"),
        AutomationCommand::Enable { name, workspace }
        | AutomationCommand::Disable { name, workspace } => {
            let enabled = enabling;
            let ws = db::workspace(store.as_ref(), workspace.as_deref()).await?;
            let version = clientele_engine::automation::set_enabled(
                store.as_ref(),
                ws.id,
                &name,
                enabled,
                now_micros(),
            )
            .await?
            .ok_or_else(|| anyhow::anyhow!("no rule named {name:?} in the active set"))?;
            let state = if enabled { "on" } else { "off" };
            println!("{name}: {state} (rule set version {version})");
        }
        AutomationCommand::DryRun {
            file,
            sample,
            workspace,
        } => {
            let ws = db::workspace(store.as_ref(), workspace.as_deref()).await?;
            let set = match file {
                Some(path) => read_rules(&path)?,
                None => {
                    clientele_engine::automation::current_rules(store.as_ref(), ws.id, now_micros())
                        .await?
                        .1
                }
            };
            let runs =
                clientele_engine::automation::dry_run(store.as_ref(), &ws, &set, sample).await?;
            for r in runs {
                let ids: Vec<String> = r
                    .sample
                    .iter()
                    .map(|c| c.external_id.clone().unwrap_or_else(|| c.id.to_string()))
                    .collect();
                let note = r.note.map(|n| format!(" ({n})")).unwrap_or_default();
                println!(
                    "{}\t{} would enter{note}\t{}",
                    r.rule,
                    r.would_enter,
                    ids.join(",")
                );
                for m in r.messages {
                    let first = m.text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                    println!(
                        "  {} {}: {} | {}",
                        m.channel,
                        m.template,
                        m.subject,
                        first.trim()
                    );
                }
            }
        }
        AutomationCommand::List { workspace } => {
            let ws = db::workspace(store.as_ref(), workspace.as_deref()).await?;
            let (version, set) =
                clientele_engine::automation::current_rules(store.as_ref(), ws.id, now_micros())
                    .await?;
            println!("# rule set version {version}");
            for r in &set.rules {
                let on = if r.enabled { "on" } else { "off" };
                let steps: Vec<String> = r.actions.iter().map(action).collect();
                println!(
                    "{}\t{on}\t{}\t{}",
                    r.name,
                    trigger(r.trigger),
                    steps.join(" → ")
                );
            }
        }
        AutomationCommand::Runs { contact, workspace } => {
            let ws = db::workspace(store.as_ref(), workspace.as_deref()).await?;
            let id = loyalty::find(store.as_ref(), &ws, &contact).await?;
            println!("rule,version,step,status,attempts,due_at,last_error");
            for s in store.steps_of(ws.id, id, 500).await?.iter().rev() {
                println!(
                    "{},{},{},{},{},{},{}",
                    s.rule,
                    s.rule_version,
                    s.step,
                    s.status,
                    s.attempts,
                    format_instant(s.due_at),
                    loyalty::csv_field(s.last_error.as_deref().unwrap_or(""))
                );
            }
            println!();
            println!("at,channel,rule,status,recipient,subject");
            for m in store.messages_of(ws.id, id, 500).await?.iter().rev() {
                println!(
                    "{},{},{},{},{},{}",
                    format_instant(m.at),
                    m.channel,
                    m.rule,
                    m.status,
                    m.recipient,
                    loyalty::csv_field(&m.subject)
                );
            }
        }
    }
    Ok(())
}

fn trigger(t: Trigger) -> String {
    match t {
        Trigger::RungEntered(r) => format!("rung_entered:{r}"),
        Trigger::RungLeft(r) => format!("rung_left:{r}"),
        Trigger::StatusChanged(s) => format!("status_changed:{s}"),
        Trigger::EventReceived(k) => format!("event_received:{}", k.as_str()),
        Trigger::ScoreCrossed { metric, at_least } => {
            format!("score_crossed:{}>={at_least}", metric.name())
        }
        Trigger::Anniversary(f) => format!("anniversary:{}", f.name()),
        Trigger::NoOrderFor { days } => format!("no_order_for:{days}d"),
    }
}

fn action(a: &Action) -> String {
    match a {
        Action::SendEmail { template, purpose } => {
            format!("send_email:{template} ({})", purpose.name())
        }
        Action::IssueCoupon(t) => format!(
            "issue_coupon:{}{}",
            t.discount.value(),
            match t.discount.kind() {
                "percent" => "%",
                _ => "",
            }
        ),
        Action::AwardPoints(n) => format!("award_points:{n}"),
        Action::AddTag(t) => format!("add_tag:{t}"),
        Action::RemoveTag(t) => format!("remove_tag:{t}"),
        Action::Wait { hours } => format!("wait:{hours}h"),
        Action::CallWebhook { url } => format!("call_webhook:{url}"),
        Action::SendSms { template, purpose } => {
            format!("send_sms:{template} ({})", purpose.name())
        }
        Action::AwardBonus { bonus, otherwise } => {
            format!("award_points:{} (else {otherwise})", bonus.reason())
        }
        Action::CreateTask { title, .. } => format!("create_task:{title}"),
        Action::OpenTicket { kind, .. } => format!("open_ticket:{kind}"),
        Action::Branch {
            then, otherwise, ..
        } => {
            let side = |a: &[Action]| a.iter().map(action).collect::<Vec<_>>().join(" → ");
            format!("branch[{} | {}]", side(then), side(otherwise))
        }
    }
}
