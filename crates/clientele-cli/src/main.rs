//! The `clientele` binary: serve, demo, workspace and token management, import, rebuild,
//! ladder, loyalty and CLV.

mod automation;
mod clv;
mod clv_input;
mod clv_plot;
mod commands;
mod db;
mod delivery;
mod ladder;
mod loyalty;

use clap::{Parser, Subcommand};

/// Clientele: a CRM that turns one-time buyers into long-term clients.
#[derive(Parser)]
#[command(name = "clientele", version, about)]
struct Cli {
    /// Database URL: `sqlite:PATH` (embedded, the default) or `postgres://…`.
    #[arg(long, global = true, env = "CLIENTELE_DATABASE_URL", default_value = db::DEFAULT_URL)]
    database: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "CLIENTELE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Refit every workspace's lifetime-value models this often (`24h`, `30m`…), the
        /// first time at start-up; `off` leaves it to `POST /api/v1/clv/fit`.
        #[arg(long, env = "CLIENTELE_CLV_REFIT_EVERY", default_value = "24h", value_parser = parse_every)]
        clv_refit_every: Every,
        /// Re-evaluate contacts whose rung or status is due to change, and expire loyalty
        /// lots that are due, this often.
        #[arg(long, env = "CLIENTELE_LADDER_EVERY", default_value = "60s", value_parser = parse_every)]
        ladder_every: Every,
        /// Send e-mail through this SMTP server:
        /// `smtp://[user:pass@]host[:port][?tls=required]` (STARTTLS) or `smtps://…` (TLS).
        /// Without it, e-mail steps wait and retry.
        #[arg(long, env = "CLIENTELE_SMTP_URL", hide_env_values = true)]
        smtp_url: Option<String>,
        /// The sender of automated e-mail: `Name <address>` or an address.
        #[arg(
            long,
            env = "CLIENTELE_SMTP_FROM",
            default_value = "Clientele <noreply@localhost>"
        )]
        smtp_from: String,
        /// E-mails handed to the SMTP server at once, each on its own connection (a hosted
        /// provider may allow fewer than a local relay).
        #[arg(long, env = "CLIENTELE_SMTP_CONNECTIONS", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=1024))]
        smtp_connections: u16,
        /// How long a step taken by a server that then died waits before another run
        /// carries it out (`60s`, `5m`).
        #[arg(long, env = "CLIENTELE_RUNNER_LEASE", default_value = "60s", value_parser = parse_lease)]
        runner_lease: std::time::Duration,
        /// Where contacts reach this server (`https://crm.shop.vn`): marketing e-mail
        /// carries a signed one-click unsubscribe link to it, NPS questions their answer
        /// links. Without it, no unsubscribe links, and NPS questions are skipped.
        #[arg(long, env = "CLIENTELE_PUBLIC_URL")]
        public_url: Option<String>,
        /// Let webhooks call loopback, private and link-local addresses (a receiver on this
        /// host or network). Without it such targets are refused.
        #[arg(long, env = "CLIENTELE_WEBHOOKS_ALLOW_PRIVATE")]
        webhooks_allow_private: bool,
        /// Send SMS through this Twilio-compatible messages URL, with the account and token
        /// in it: `https://ACCOUNT:TOKEN@api.twilio.com/2010-04-01/Accounts/ACCOUNT/Messages.json`.
        /// Without it, SMS steps wait and retry.
        #[arg(long, env = "CLIENTELE_SMS_URL", hide_env_values = true)]
        sms_url: Option<String>,
        /// The sender of SMS: a number in E.164 or a sender name the provider allows.
        #[arg(long, env = "CLIENTELE_SMS_FROM", default_value = "")]
        sms_from: String,
    },
    /// The process `serve` starts to hold its SMTP connections (not for people to run).
    #[command(hide = true)]
    DeliveryAgent {
        #[arg(long, env = "CLIENTELE_SMTP_URL", hide_env_values = true)]
        smtp_url: String,
        #[arg(long, env = "CLIENTELE_SMTP_FROM")]
        smtp_from: String,
    },
    /// Create a fresh SQLite database with the full CDNOW purchase history, a `demo`
    /// workspace and a token, print them, and serve.
    Demo {
        /// Address to listen on.
        #[arg(long, env = "CLIENTELE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Where to create the demo database (replaced if it exists).
        #[arg(long, default_value = "clientele-demo.db")]
        path: String,
    },
    /// Workspaces (one per business).
    Workspace {
        #[command(subcommand)]
        command: commands::WorkspaceCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: commands::TokenCommand,
    },
    /// Import files.
    Import {
        #[command(subcommand)]
        command: commands::ImportCommand,
    },
    /// Replay the event log and rebuild every projection of a workspace.
    Rebuild {
        /// Workspace name (optional when there is only one).
        #[arg(long)]
        workspace: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// The loyalty ladder: contacts and revenue per rung and status, or one line per contact.
    Ladder(ladder::LadderArgs),
    /// Automated care: the active rules, and a contact's runs and messages.
    Automation {
        #[command(subcommand)]
        command: automation::AutomationCommand,
    },
    /// The loyalty points ledger: a contact's balance or history; expire due lots now.
    Loyalty {
        #[command(subcommand)]
        command: loyalty::LoyaltyCommand,
    },
    /// Customer-lifetime-value models (BG/NBD, Pareto/NBD, modified BG/NBD, Gamma-Gamma).
    Clv {
        #[command(subcommand)]
        command: clv::ClvCommand,
    },
}

/// How often a scheduled job runs, or never.
#[derive(Clone, Copy)]
pub struct Every(Option<std::time::Duration>);

fn parse_every(text: &str) -> Result<Every, String> {
    if text == "off" {
        return Ok(Every(None));
    }
    match humantime::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(Every(Some(d))),
        Ok(_) => Err("must be longer than zero (or `off`)".into()),
        Err(e) => Err(format!("{e} (write it like `24h`, `30m` or `off`)")),
    }
}

fn parse_lease(text: &str) -> Result<std::time::Duration, String> {
    match parse_every(text)? {
        Every(Some(d)) => Ok(d),
        Every(None) => Err("a lease cannot be `off`".into()),
    }
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CLIENTELE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only help a person at a terminal; in log files they are noise.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli.command, &cli.database)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
