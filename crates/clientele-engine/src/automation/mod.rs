//! Automated customer care in the engine: rule sets stored per workspace, runs started in
//! the transaction of the ladder change that triggers them (as outbox rows whose key makes
//! each step unique), and the runner that carries the steps out — database effects
//! (coupons, points, tags) in the transaction that finishes the step, messages through a
//! `Mailer` with retries and backoff.

mod agent;
mod calendar;
mod channel_steps;
mod dry_run;
mod email_steps;
mod facts;
mod gate;
mod mailer;
mod messages;
mod rules;
mod runner;
mod settle;
mod signed;
mod sms;
mod smtp;
mod subject;
pub mod survey;
mod triggers;
pub mod unsubscribe;
pub mod webhook;

pub use agent::{AgentMailer, Committed, run_agent};
pub use dry_run::{Preview, RuleDryRun, SampleContact, dry_run};
pub use mailer::{AfterData, Email, Handover, Mailer, NoSmtp, Sending, StepRef};
pub(crate) use rules::active_rules_cached;
pub use rules::{active_rules, current_rules, rules_of_version, set_enabled, set_rules};
pub use runner::{IDLE, run_due, run_due_with, run_forever};
pub use settle::{MAX_ATTEMPTS, Settings};
pub use sms::SmsProvider;
pub use smtp::SmtpMailer;
pub(crate) use triggers::{ScoreWatch, on_events, on_ladder_changes};

/// The key of step `step` of a run: rule, version, contact and occurrence say which run.
pub fn step_key(rule: &str, version: i64, contact: i64, occurrence: &str, step: i64) -> String {
    format!("{rule}/v{version}/c{contact}/{occurrence}/{step}")
}
