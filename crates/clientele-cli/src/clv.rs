//! `clientele clv fit | predict | plot`: customer-lifetime-value models on a transaction
//! file or on a workspace's purchases.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use clientele_clv::csv_summary::summarize_csv;
use clientele_clv::gamma_gamma::{self, GammaGamma};
use clientele_clv::report::FitReport;
use clientele_clv::{Fit, FittedModel, Unit, fit_model, fit_report, predict, summarize};

use crate::clv_input::{self, Prepared, Transactions, day_number};
use crate::{clv_plot, db};

#[derive(Clone, Copy, ValueEnum)]
pub enum InputFormat {
    /// CDNOW purchase history (master or sample file).
    Cdnow,
    /// `customer_id,date,amount` with a header.
    Csv,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelKind {
    /// BG/NBD (Fader, Hardie & Lee 2005).
    Bgnbd,
    /// Pareto/NBD (Schmittlein, Morrison & Colombo 1987).
    Pareto,
    /// Modified BG/NBD (Batislam et al. 2007).
    Mbgnbd,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SpendKind {
    /// Gamma-Gamma (Fader & Hardie 2013).
    GammaGamma,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum UnitArg {
    /// Days.
    Day,
    /// Weeks.
    Week,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FitFormat {
    /// A readable table.
    Table,
    /// JSON, parameters named as in the papers.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PredictFormat {
    /// `customer_id,frequency,recency,T,p_alive,expected_purchases,expected_value,clv`.
    Csv,
}

/// What to fit on.
#[derive(Args)]
pub struct ClvInput {
    /// Transaction file; without it, the purchases of a workspace in `--database`.
    #[arg(long)]
    transactions: Option<PathBuf>,
    /// Workspace whose purchases to fit (optional when there is only one).
    #[arg(long, conflicts_with = "transactions")]
    workspace: Option<String>,
    /// Its format.
    #[arg(long, value_enum, default_value = "csv")]
    input_format: InputFormat,
    /// Purchase model.
    #[arg(long, value_enum)]
    model: ModelKind,
    /// Spend model.
    #[arg(long, value_enum)]
    spend: Option<SpendKind>,
    /// Last day of the calibration period (YYYY-MM-DD).
    #[arg(long)]
    calibration_end: String,
    /// Last day of the holdout period (YYYY-MM-DD).
    #[arg(long)]
    holdout_end: Option<String>,
    /// Time unit.
    #[arg(long, value_enum, default_value = "week")]
    unit: UnitArg,
}

#[derive(Subcommand)]
pub enum ClvCommand {
    /// Fit a model and print its parameters, standard errors, fit statistics and, with a
    /// holdout period, predicted against actual holdout purchases.
    Fit {
        #[command(flatten)]
        input: ClvInput,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: FitFormat,
    },
    /// Fit, then print one line per customer with P(alive), expected purchases, expected
    /// value and discounted lifetime value over the horizon.
    Predict {
        #[command(flatten)]
        input: ClvInput,
        /// Horizon in units.
        #[arg(long)]
        horizon: u32,
        /// Discount rate per unit.
        #[arg(long, default_value = "0")]
        discount: f64,
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: PredictFormat,
    },
    /// Write a synthetic `customer_id,date,amount` CSV drawn from the BG/NBD and
    /// Gamma-Gamma processes with the parameters of the papers (r 0.243, α 4.414, a 0.793,
    /// b 2.426; p 6.25, q 3.74, γ 15.44), first purchases spread over the first 12 weeks
    /// from 2020-01-01. Fixed seed: the same arguments write the same file.
    Simulate {
        /// Customers.
        #[arg(long)]
        customers: u32,
        /// Days of history.
        #[arg(long, default_value = "546")]
        days: i32,
        /// Unit of the purchase rates: `week` as in the paper, `day` for a shop whose
        /// customers buy seven times as often.
        #[arg(long, value_enum, default_value = "week")]
        rate_unit: UnitArg,
        /// Seed.
        #[arg(long, default_value = "42")]
        seed: u64,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Fit, then write SVG and PNG charts: holdout against predicted purchases by
    /// calibration frequency (needs `--holdout-end`), the P(alive) matrix and cumulative
    /// tracking of repeat purchases.
    Plot {
        #[command(flatten)]
        input: ClvInput,
        /// Directory for the charts (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

impl ModelKind {
    fn kind(self) -> clientele_clv::ModelKind {
        match self {
            Self::Bgnbd => clientele_clv::ModelKind::Bgnbd,
            Self::Pareto => clientele_clv::ModelKind::Pareto,
            Self::Mbgnbd => clientele_clv::ModelKind::Mbgnbd,
        }
    }
}

async fn read_input(input: &ClvInput, database: &str) -> anyhow::Result<Transactions> {
    if let Some(file) = &input.transactions {
        let path = file.display().to_string();
        let bytes = std::fs::read(file).with_context(|| format!("reading {path}"))?;
        return match input.input_format {
            InputFormat::Cdnow => clv_input::read_cdnow(&path, &bytes),
            InputFormat::Csv => clv_input::read_csv(&path, &bytes),
        };
    }
    let store = db::open(database).await?;
    let ws = db::workspace(store.as_ref(), input.workspace.as_deref()).await?;
    let data = clientele_engine::clv::transactions(store.as_ref(), &ws).await?;
    store.close().await;
    Ok(Transactions {
        txns: data.txns,
        ids: data.ids,
    })
}

/// What a command needs beyond the summaries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Needs {
    Summaries,
    /// The charts also track purchases over time.
    Transactions,
}

async fn prepare(input: &ClvInput, database: &str, needs: Needs) -> anyhow::Result<Prepared> {
    let cal = day_number(&input.calibration_end)
        .map_err(|e| anyhow::anyhow!("--calibration-end: {e}"))?;
    let holdout = input
        .holdout_end
        .as_deref()
        .map(day_number)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--holdout-end: {e}"))?;
    if let Some(h) = holdout
        && h <= cal
    {
        bail!("--holdout-end must be after --calibration-end");
    }
    let unit = unit(input.unit);
    let (txns, ids, summaries) = match (&input.transactions, input.input_format, needs) {
        // Large CSV files take the parallel path straight to the summaries.
        (Some(file), InputFormat::Csv, Needs::Summaries) => {
            let path = file.display().to_string();
            let bytes = std::fs::read(file).with_context(|| format!("reading {path}"))?;
            let s = summarize_csv(&bytes, cal, holdout, unit)
                .map_err(|e| anyhow::anyhow!("{path}:{e}"))?;
            (
                Vec::new(),
                s.ids.iter().map(str::to_owned).collect(),
                s.summaries,
            )
        }
        _ => {
            let Transactions { txns, ids } = read_input(input, database).await?;
            let summaries = summarize(&txns, cal, holdout, unit);
            (txns, ids, summaries)
        }
    };
    if summaries.is_empty() {
        bail!(
            "no customer bought on or before --calibration-end {}",
            input.calibration_end
        );
    }
    Ok(Prepared {
        ids,
        txns,
        summaries,
        calibration_end: cal,
        holdout_end: holdout,
        holdout_units: holdout.map(|h| f64::from(h - cal) / unit.days()),
        unit,
    })
}

/// Prepare the data and fit the purchase model and, when asked, the spend model.
async fn fitted(
    input: &ClvInput,
    database: &str,
    needs: Needs,
) -> anyhow::Result<(Prepared, FittedModel, Option<Fit<GammaGamma>>)> {
    let prepared = prepare(input, database, needs).await?;
    let fitted = fit_model(input.model.kind(), &prepared.summaries)?;
    let spend = input
        .spend
        .map(|_| gamma_gamma::fit(&prepared.summaries))
        .transpose()?;
    Ok((prepared, fitted, spend))
}

pub async fn run(command: ClvCommand, database: &str) -> anyhow::Result<()> {
    match command {
        ClvCommand::Fit { input, format } => {
            let (prepared, fitted, spend) = fitted(&input, database, Needs::Summaries).await?;
            let report = fit_report(
                prepared.unit,
                &fitted,
                spend.as_ref(),
                &prepared.summaries,
                prepared.holdout_units,
            );
            match format {
                FitFormat::Json => {
                    use std::io::Write;
                    writeln!(
                        std::io::stdout().lock(),
                        "{}",
                        serde_json::to_string_pretty(&report)?
                    )?;
                }
                FitFormat::Table => print_table(&report, fitted.fit.names)?,
            }
            Ok(())
        }
        ClvCommand::Predict {
            input,
            horizon,
            discount,
            format: PredictFormat::Csv,
        } => {
            if !(0.0..1.0).contains(&discount) {
                bail!("--discount: must be at least 0 and below 1 (a rate per unit)");
            }
            let (prepared, fitted, spend) = fitted(&input, database, Needs::Summaries).await?;
            print_predictions(&prepared, &fitted, spend.as_ref(), horizon, discount)
        }
        ClvCommand::Simulate {
            customers,
            days,
            rate_unit,
            seed,
            out,
        } => simulate(customers, days, rate_unit, seed, &out),
        ClvCommand::Plot { input, out } => {
            let (prepared, fitted, _) = fitted(&input, database, Needs::Transactions).await?;
            let written = clv_plot::write_charts(&out, &prepared, fitted.fit.model.as_ref())?;
            for path in written {
                println!("{}", path.display());
            }
            Ok(())
        }
    }
}

fn simulate(
    customers: u32,
    days: i32,
    rate_unit: UnitArg,
    seed: u64,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    use clientele_clv::simulate::{Simulation, write_csv};
    if days < 1 {
        bail!("--days: must be at least 1");
    }
    let txns = clientele_clv::simulate::simulate(&Simulation {
        customers,
        cohort_days: 84.min(days),
        end_day: days - 1,
        purchases: clientele_clv::bgnbd::BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        },
        unit: unit(rate_unit),
        spend: GammaGamma {
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        },
        seed,
    })
    .map_err(anyhow::Error::msg)?;
    let file = std::fs::File::create(out).with_context(|| format!("--out: {}", out.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    write_csv(&txns, jiff::civil::date(2020, 1, 1), &mut w)
        .and_then(|()| std::io::Write::flush(&mut w))
        .with_context(|| format!("writing {}", out.display()))?;
    eprintln!("{} transactions of {customers} customers", txns.len());
    Ok(())
}

fn unit(u: UnitArg) -> Unit {
    match u {
        UnitArg::Day => Unit::Day,
        UnitArg::Week => Unit::Week,
    }
}

fn print_table(r: &FitReport, order: &[&str]) -> std::io::Result<()> {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(
        w,
        "model {} on {} customers (unit: {})",
        r.model, r.customers, r.unit
    )?;
    writeln!(w, "{:<8} {:>14} {:>14}", "param", "estimate", "std. error")?;
    for name in order {
        let se = r
            .std_errors
            .as_ref()
            .and_then(|se| se.get(name))
            .map_or_else(|| "n/a".to_owned(), |s| format!("{s:.6}"));
        let value = r.params.get(name).copied().unwrap_or(f64::NAN);
        writeln!(w, "{name:<8} {value:>14.6} {se:>14}")?;
    }
    writeln!(
        w,
        "log-likelihood {:.4}   AIC {:.4}   BIC {:.4}",
        r.log_likelihood, r.aic, r.bic
    )?;
    writeln!(w, "iterations {}   converged {}", r.iterations, r.converged)?;
    if let Some(s) = &r.spend {
        let p = |name| s.params.get(name).copied().unwrap_or(f64::NAN);
        writeln!(
            w,
            "spend gamma-gamma on {} customers ({} without a positive repeat value left out): p {:.6}  q {:.6}  gamma {:.6}",
            s.customers,
            s.excluded,
            p("p"),
            p("q"),
            p("gamma")
        )?;
    }
    if let Some(h) = &r.holdout {
        writeln!(
            w,
            "holdout of {} units: predicted {:.1}, actual {:.0} purchases",
            h.length, h.predicted, h.actual
        )?;
        writeln!(
            w,
            "{:<10} {:>10} {:>12} {:>10}",
            "frequency", "customers", "predicted", "actual"
        )?;
        for row in &h.by_frequency {
            writeln!(
                w,
                "{:<10} {:>10} {:>12.1} {:>10.0}",
                row.frequency, row.customers, row.predicted, row.actual
            )?;
        }
    }
    w.flush()
}

fn print_predictions(
    p: &Prepared,
    fitted: &FittedModel,
    spend: Option<&Fit<GammaGamma>>,
    horizon: u32,
    discount: f64,
) -> anyhow::Result<()> {
    use std::io::Write;
    let model = fitted.fit.model.as_ref();
    let predictions = predict(
        model,
        spend.map(|s| &s.model),
        &p.summaries,
        horizon,
        discount,
    );
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(
        out,
        "customer_id,frequency,recency,T,p_alive,expected_purchases,expected_value,clv"
    )?;
    for (c, pr) in p.summaries.iter().zip(&predictions) {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{}",
            p.ids[c.customer as usize],
            c.frequency,
            c.recency,
            c.t,
            pr.p_alive,
            pr.expected_purchases,
            pr.expected_value,
            pr.clv
        )?;
    }
    out.flush()?;
    Ok(())
}
