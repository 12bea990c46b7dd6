//! What each subcommand does.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use clientele_engine::automation::{Mailer, NoSmtp};
use clientele_engine::clv::{self, ClvSettings};
use clientele_engine::import::{self, Format, ImportReport};
use clientele_store::{Store, StoreError, Workspace, now_micros};
use indicatif::{ProgressBar, ProgressStyle};

use crate::db;
use crate::{Command, Every};

/// The CDNOW purchase history, shipped inside the binary for `clientele demo`.
const CDNOW_MASTER: &[u8] = include_bytes!("../../../data/cdnow/CDNOW_master.txt");

#[derive(Subcommand)]
pub enum WorkspaceCommand {
    /// Create a workspace.
    Create {
        /// Unique name.
        name: String,
        /// ISO 4217 base currency of every metric.
        #[arg(long, default_value = "USD")]
        currency: String,
        /// IANA time zone for dates without a time.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// Region for phone numbers written without a country code (ISO 3166 alpha-2).
        #[arg(long, default_value = "US")]
        phone_region: String,
    },
    /// List workspaces.
    List,
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token and print it (only once: only its hash is stored).
    Create {
        /// Workspace name.
        #[arg(long)]
        workspace: String,
        /// A note to recognise the token by.
        #[arg(long, default_value = "cli")]
        label: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FileFormat {
    /// CDNOW purchase history.
    Cdnow,
    /// Shopify-style orders export.
    Shopify,
}

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import orders from a file.
    Orders {
        /// The file.
        file: std::path::PathBuf,
        /// Its format.
        #[arg(long, value_enum)]
        format: FileFormat,
        /// Workspace name (optional when there is only one).
        #[arg(long)]
        workspace: Option<String>,
        /// Where rejected lines go (default: FILE.rejects).
        #[arg(long)]
        rejects: Option<std::path::PathBuf>,
    },
}

pub async fn run(command: Command, database: &str) -> anyhow::Result<()> {
    match command {
        Command::Serve {
            listen,
            clv_refit_every,
            ladder_every,
            smtp_url,
            smtp_from,
            smtp_connections,
            runner_lease,
            public_url,
            webhooks_allow_private,
            sms_url,
            sms_from,
        } => {
            let sms = match sms_url {
                Some(url) => Some(
                    clientele_engine::automation::SmsProvider::new(&url, &sms_from)
                        .map_err(anyhow::Error::msg)?,
                ),
                None => None,
            };
            if let Some(url) = &public_url
                && !(url.starts_with("https://") || url.starts_with("http://"))
            {
                bail!("--public-url {url:?}: must start with https:// (or http://)");
            }
            let runner = clientele_engine::automation::Settings {
                lease: i64::try_from(runner_lease.as_micros()).unwrap_or(i64::MAX),
                send_concurrency: usize::from(smtp_connections),
                public_url: public_url.map(Into::into),
                webhooks_allow_private,
                sms,
            };
            let mailer: Arc<dyn Mailer> = match smtp_url {
                Some(url) => crate::delivery::spawn(database, &url, &smtp_from)?,
                None => Arc::new(NoSmtp),
            };
            serve(
                db::open(database).await?,
                &listen,
                clv_refit_every,
                ladder_every,
                mailer,
                runner,
            )
            .await
        }
        Command::Demo { listen, path } => demo(&path, &listen).await,
        Command::DeliveryAgent {
            smtp_url,
            smtp_from,
        } => crate::delivery::agent(database, &smtp_url, &smtp_from).await,
        Command::Workspace { command } => {
            let store = db::open(database).await?;
            match command {
                WorkspaceCommand::Create {
                    name,
                    currency,
                    timezone,
                    phone_region,
                } => {
                    let ws = create_workspace(
                        store.as_ref(),
                        &name,
                        &currency,
                        &timezone,
                        &phone_region,
                    )
                    .await?;
                    println!(
                        "created workspace {} (currency {}, time zone {})",
                        ws.name, ws.currency, ws.time_zone
                    );
                }
                WorkspaceCommand::List => {
                    for ws in store.workspaces().await? {
                        println!("{}\t{}\t{}", ws.name, ws.currency, ws.time_zone);
                    }
                }
            }
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Create { workspace, label },
        } => {
            let store = db::open(database).await?;
            let ws = db::workspace(store.as_ref(), Some(&workspace)).await?;
            println!("{}", create_token(store.as_ref(), &ws, &label).await?);
            Ok(())
        }
        Command::Import {
            command:
                ImportCommand::Orders {
                    file,
                    format,
                    workspace,
                    rejects,
                },
        } => {
            let store = db::open(database).await?;
            let ws = db::workspace(store.as_ref(), workspace.as_deref()).await?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let format = match format {
                FileFormat::Cdnow => Format::Cdnow,
                FileFormat::Shopify => Format::Shopify,
            };
            let report = import_bytes(store.as_ref(), &ws, &bytes, format).await?;
            let rejects_path = rejects.unwrap_or_else(|| {
                let mut p = file.clone().into_os_string();
                p.push(".rejects");
                p.into()
            });
            write_rejects(&file.display().to_string(), &rejects_path, &report)?;
            println!(
                "imported {}, duplicates {}, rejected {}",
                report.imported,
                report.duplicates,
                report.rejects.len()
            );
            Ok(())
        }
        Command::Rebuild { workspace } => {
            let store = db::open(database).await?;
            let ws = db::workspace(store.as_ref(), workspace.as_deref()).await?;
            let started = std::time::Instant::now();
            let n = clientele_engine::rebuild::rebuild(store.as_ref(), ws.id).await?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "replayed {n} events in {secs:.3} s ({:.0} events/s)",
                n as f64 / secs.max(1e-9)
            );
            Ok(())
        }
        Command::Clv { command } => crate::clv::run(command, database).await,
        Command::Ladder(args) => crate::ladder::run(args, database).await,
        Command::Loyalty { command } => crate::loyalty::run(command, database).await,
        Command::Automation { command } => crate::automation::run(command, database).await,
        Command::Migrate => {
            db::open(database).await?;
            println!("migrations applied");
            Ok(())
        }
    }
}

async fn create_workspace(
    store: &dyn Store,
    name: &str,
    currency: &str,
    tz: &str,
    region: &str,
) -> anyhow::Result<Workspace> {
    let new = clientele_engine::workspace::validate(name, currency, tz, region)
        .map_err(anyhow::Error::msg)?;
    match store.create_workspace(&new).await {
        Ok(ws) => Ok(ws),
        Err(StoreError::Conflict { .. }) => bail!("a workspace named {name:?} already exists"),
        Err(e) => Err(e.into()),
    }
}

async fn create_token(store: &dyn Store, ws: &Workspace, label: &str) -> anyhow::Result<String> {
    let bytes: [u8; 32] = rand::random();
    let token = format!("clt_{}", hex_encode(&bytes));
    store
        .create_token(ws.id, &clientele_http::auth::token_hash(&token), label)
        .await?;
    Ok(token)
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn import_bytes(
    store: &dyn Store,
    ws: &Workspace,
    bytes: &[u8],
    format: Format,
) -> anyhow::Result<ImportReport> {
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} events ({per_sec}, {eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let report = import::import(store, ws, bytes, format, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await?;
    bar.finish_and_clear();
    Ok(report)
}

/// Report each reject as `file:line: column: reason` on stderr and write the original lines
/// to the rejects file (removed when there are none).
fn write_rejects(file: &str, path: &std::path::Path, report: &ImportReport) -> anyhow::Result<()> {
    if report.rejects.is_empty() {
        let _ = std::fs::remove_file(path);
        return Ok(());
    }
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    let mut stderr = std::io::stderr().lock();
    for r in &report.rejects {
        let _ = writeln!(stderr, "{file}:{}: {}: {}", r.line, r.column, r.reason);
        writeln!(out, "{}", r.raw)?;
    }
    out.flush()?;
    Ok(())
}

async fn serve(
    store: Arc<dyn Store>,
    listen: &str,
    clv_refit: Every,
    ladder: Every,
    mailer: Arc<dyn Mailer>,
    runner: clientele_engine::automation::Settings,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("--listen: cannot bind {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "serving");
    // Scripts and tests read this line to learn the port when listening on :0.
    println!("listening on http://{addr}");
    let refits = clv_refit.0.map(|every| {
        tokio::spawn(clientele_http::schedule::refit_clv_forever(
            store.clone(),
            every,
        ))
    });
    let ladder_task = ladder.0.map(|every| {
        tokio::spawn(clientele_http::schedule::ladder_forever(
            store.clone(),
            every,
        ))
    });
    let runner = tokio::spawn(clientele_engine::automation::run_forever(
        store.clone(),
        mailer,
        runner,
    ));
    clientele_http::serve(listener, store.clone(), clientele_http::shutdown_signal()).await?;
    for task in [refits, ladder_task, Some(runner)].into_iter().flatten() {
        task.abort();
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn demo(path: &str, listen: &str) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    let store = db::open(&format!("sqlite:{path}")).await?;
    let ws = create_workspace(store.as_ref(), "demo", "USD", "UTC", "US").await?;
    let token = create_token(store.as_ref(), &ws, "demo").await?;
    eprintln!("loading the CDNOW purchase history into {path}…");
    let report = import_bytes(store.as_ref(), &ws, CDNOW_MASTER, Format::Cdnow).await?;
    eprintln!(
        "imported {}, duplicates {}, rejected {}",
        report.imported,
        report.duplicates,
        report.rejects.len()
    );
    println!(
        "Clientele demo: workspace `demo`, {} events from the CDNOW purchase history",
        report.imported
    );
    // The CDNOW history ends in June 1998: fit as of then, so P(alive) and CLV mean
    // something; the demo server does not refit on a schedule.
    let settings = ClvSettings {
        calibration_end: Some(jiff::civil::date(1998, 6, 30)),
        ..ClvSettings::default()
    };
    let outcome = clv::refit(store.as_ref(), &ws, settings, now_micros()).await?;
    eprintln!(
        "lifetime value: BG/NBD fitted on {} customers as of 1998-06-30",
        outcome.fit.customers
    );
    println!("token: {token}");
    println!(
        "try:   curl -H 'Authorization: Bearer {token}' 'http://{listen}/api/v1/contacts?external_id=00001'"
    );
    serve(
        store,
        listen,
        Every(None),
        Every(Some(std::time::Duration::from_secs(60))),
        // The demo's history is years old: it starts no automation, and sends nothing.
        Arc::new(NoSmtp),
        clientele_engine::automation::Settings::default(),
    )
    .await
}
