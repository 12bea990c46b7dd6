//! `clientele clv fit | predict`: customer-lifetime-value models on transaction files.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use clientele_clv::gamma_gamma::{self, GammaGamma};
use clientele_clv::{
    CustomerSummary, Fit, PurchaseModel, Unit, bgnbd, lifetime_value, mbgnbd, pareto, summarize,
};
use serde_json::{Map, Value, json};

use crate::clv_input::{self, Transactions, day_number};

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
    /// Transaction file.
    #[arg(long)]
    transactions: PathBuf,
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
}

/// A fitted purchase model with its diagnostics, whatever its kind.
struct Fitted {
    name: &'static str,
    model: Box<dyn PurchaseModel>,
    names: &'static [&'static str],
    log_likelihood: f64,
    aic: f64,
    bic: f64,
    std_errors: Option<Vec<f64>>,
    iterations: u64,
    converged: bool,
    observations: usize,
}

impl Fitted {
    fn new<M: PurchaseModel + 'static>(name: &'static str, fit: Fit<M>) -> Self {
        Self {
            name,
            names: fit.names,
            log_likelihood: fit.log_likelihood,
            aic: fit.aic,
            bic: fit.bic,
            std_errors: fit.std_errors,
            iterations: fit.iterations,
            converged: fit.converged,
            observations: fit.observations,
            model: Box::new(fit.model),
        }
    }
}

struct Prepared {
    ids: Vec<String>,
    summaries: Vec<CustomerSummary>,
    holdout_units: Option<f64>,
    unit: Unit,
}

fn prepare(input: &ClvInput) -> anyhow::Result<Prepared> {
    let path = input.transactions.display().to_string();
    let bytes = std::fs::read(&input.transactions).with_context(|| format!("reading {path}"))?;
    let Transactions { txns, ids } = match input.input_format {
        InputFormat::Cdnow => clv_input::read_cdnow(&path, &bytes)?,
        InputFormat::Csv => clv_input::read_csv(&path, &bytes)?,
    };
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
    let unit = match input.unit {
        UnitArg::Day => Unit::Day,
        UnitArg::Week => Unit::Week,
    };
    let summaries = summarize(&txns, cal, holdout, unit);
    if summaries.is_empty() {
        bail!(
            "no customer bought on or before --calibration-end {}",
            input.calibration_end
        );
    }
    Ok(Prepared {
        ids,
        summaries,
        holdout_units: holdout.map(|h| f64::from(h - cal) / unit.days()),
        unit,
    })
}

fn fit_purchase(kind: ModelKind, data: &[CustomerSummary]) -> anyhow::Result<Fitted> {
    let fitted = match kind {
        ModelKind::Bgnbd => Fitted::new("bgnbd", bgnbd::fit(data)?),
        ModelKind::Pareto => Fitted::new("pareto", pareto::fit(data)?),
        ModelKind::Mbgnbd => Fitted::new("mbgnbd", mbgnbd::fit(data)?),
    };
    Ok(fitted)
}

fn named(names: &[&str], values: &[f64]) -> Value {
    Value::Object(
        names
            .iter()
            .zip(values)
            .map(|(n, v)| ((*n).to_owned(), json!(v)))
            .collect::<Map<_, _>>(),
    )
}

pub fn run(command: ClvCommand) -> anyhow::Result<()> {
    match command {
        ClvCommand::Fit { input, format } => {
            let prepared = prepare(&input)?;
            let fitted = fit_purchase(input.model, &prepared.summaries)?;
            let spend = input
                .spend
                .map(|_| gamma_gamma::fit(&prepared.summaries))
                .transpose()?;
            let report = fit_report(&prepared, &fitted, spend.as_ref());
            match format {
                FitFormat::Json => {
                    use std::io::Write;
                    writeln!(
                        std::io::stdout().lock(),
                        "{}",
                        serde_json::to_string_pretty(&report)?
                    )?;
                }
                FitFormat::Table => print_table(&report, fitted.names)?,
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
            let prepared = prepare(&input)?;
            let fitted = fit_purchase(input.model, &prepared.summaries)?;
            let spend = input
                .spend
                .map(|_| gamma_gamma::fit(&prepared.summaries))
                .transpose()?;
            print_predictions(
                &prepared,
                fitted.model.as_ref(),
                spend.as_ref().map(|f| f.model),
                horizon,
                discount,
            )
        }
    }
}

fn fit_report(p: &Prepared, f: &Fitted, spend: Option<&Fit<GammaGamma>>) -> Value {
    let values: Vec<f64> = f.model.params().iter().map(|(_, v)| *v).collect();
    let mut report = json!({
        "model": f.name,
        "unit": match p.unit { Unit::Day => "day", Unit::Week => "week" },
        "customers": f.observations,
        "params": named(f.names, &values),
        "std_errors": f.std_errors.as_ref().map(|se| named(f.names, se)),
        "log_likelihood": f.log_likelihood,
        "aic": f.aic,
        "bic": f.bic,
        "iterations": f.iterations,
        "converged": f.converged,
    });
    if let Some(s) = spend {
        let m = s.model;
        report["spend"] = json!({
            "model": "gamma-gamma",
            "params": {"p": m.p, "q": m.q, "gamma": m.gamma},
            "std_errors": s.std_errors.as_ref().map(|se| named(s.names, se)),
            "log_likelihood": s.log_likelihood,
            "customers": s.observations,
            "excluded": p.summaries.len() - s.observations,
            "converged": s.converged,
        });
    }
    if let Some(h) = p.holdout_units {
        let mut by: Vec<(f64, f64, usize)> = vec![(0.0, 0.0, 0); 8];
        for c in &p.summaries {
            let bucket = (c.frequency as usize).min(7);
            by[bucket].0 += f
                .model
                .conditional_expected_purchases(h, c.frequency, c.recency, c.t);
            by[bucket].1 += c.holdout_frequency;
            by[bucket].2 += 1;
        }
        let rows: Vec<Value> = by
            .iter()
            .enumerate()
            .map(|(i, (pred, act, n))| {
                let label = if i == 7 {
                    "7+".to_owned()
                } else {
                    i.to_string()
                };
                json!({"frequency": label, "customers": n, "predicted": pred, "actual": act})
            })
            .collect();
        report["holdout"] = json!({
            "length": h,
            "predicted": by.iter().map(|r| r.0).sum::<f64>(),
            "actual": by.iter().map(|r| r.1).sum::<f64>(),
            "by_frequency": rows,
        });
    }
    report
}

fn print_table(r: &Value, order: &[&str]) -> std::io::Result<()> {
    use std::io::Write;
    let num = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let mut w = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(
        w,
        "model {} on {} customers (unit: {})",
        r["model"].as_str().unwrap_or_default(),
        r["customers"],
        r["unit"].as_str().unwrap_or_default()
    )?;
    writeln!(w, "{:<8} {:>14} {:>14}", "param", "estimate", "std. error")?;
    for name in order {
        let se = r["std_errors"]
            .get(name)
            .and_then(Value::as_f64)
            .map_or_else(|| "n/a".to_owned(), |s| format!("{s:.6}"));
        writeln!(w, "{name:<8} {:>14.6} {se:>14}", num(&r["params"][name]))?;
    }
    writeln!(
        w,
        "log-likelihood {:.4}   AIC {:.4}   BIC {:.4}",
        num(&r["log_likelihood"]),
        num(&r["aic"]),
        num(&r["bic"])
    )?;
    writeln!(
        w,
        "iterations {}   converged {}",
        r["iterations"], r["converged"]
    )?;
    if let Some(s) = r.get("spend") {
        let p = &s["params"];
        writeln!(
            w,
            "spend gamma-gamma on {} customers ({} without a positive repeat value left out): p {:.6}  q {:.6}  gamma {:.6}",
            s["customers"],
            s["excluded"],
            num(&p["p"]),
            num(&p["q"]),
            num(&p["gamma"])
        )?;
    }
    if let Some(h) = r.get("holdout") {
        writeln!(
            w,
            "holdout of {} units: predicted {:.1}, actual {:.0} purchases",
            h["length"],
            num(&h["predicted"]),
            num(&h["actual"])
        )?;
        writeln!(
            w,
            "{:<10} {:>10} {:>12} {:>10}",
            "frequency", "customers", "predicted", "actual"
        )?;
        for row in h["by_frequency"].as_array().into_iter().flatten() {
            writeln!(
                w,
                "{:<10} {:>10} {:>12.1} {:>10.0}",
                row["frequency"].as_str().unwrap_or_default(),
                row["customers"],
                num(&row["predicted"]),
                num(&row["actual"])
            )?;
        }
    }
    w.flush()
}

fn print_predictions(
    p: &Prepared,
    model: &dyn PurchaseModel,
    spend: Option<GammaGamma>,
    horizon: u32,
    discount: f64,
) -> anyhow::Result<()> {
    use std::io::Write;
    let overall = {
        let repeaters: Vec<&CustomerSummary> = p
            .summaries
            .iter()
            .filter(|c| gamma_gamma::usable(c))
            .collect();
        repeaters.iter().map(|c| c.monetary).sum::<f64>() / repeaters.len().max(1) as f64
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(
        out,
        "customer_id,frequency,recency,T,p_alive,expected_purchases,expected_value,clv"
    )?;
    for c in &p.summaries {
        let (x, tx, t) = (c.frequency, c.recency, c.t);
        // Without a spend model a customer's own mean repeat value stands in (the overall
        // mean for those without repeats).
        let value = match spend {
            Some(gg) => gg.conditional_expected_value(
                x,
                if c.monetary > 0.0 {
                    c.monetary
                } else {
                    overall
                },
            ),
            None if c.monetary > 0.0 => c.monetary,
            None => overall,
        };
        let expected = model.conditional_expected_purchases(f64::from(horizon), x, tx, t);
        let clv = lifetime_value(model, horizon, discount, x, tx, t, value);
        writeln!(
            out,
            "{},{x},{tx},{t},{},{expected},{value},{clv}",
            p.ids[c.customer as usize],
            model.p_alive(x, tx, t)
        )?;
    }
    out.flush()?;
    Ok(())
}
