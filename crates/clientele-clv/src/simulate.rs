//! Synthetic purchase histories drawn from the BG/NBD and Gamma-Gamma processes, with a
//! fixed seed: data of any size whose true parameters are known, for tests and benchmarks.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Bernoulli, Beta, Distribution, Exp, Gamma, Uniform};

use crate::bgnbd::BgNbd;
use crate::gamma_gamma::GammaGamma;
use crate::summary::{Txn, Unit};

/// What to simulate.
#[derive(Debug, Clone, Copy)]
pub struct Simulation {
    /// Customers.
    pub customers: u32,
    /// First purchases fall uniformly in days `0..cohort_days`.
    pub cohort_days: i32,
    /// Histories end on this day (inclusive).
    pub end_day: i32,
    /// Purchase process, its rates per `unit`.
    pub purchases: BgNbd,
    /// Time unit of the purchase process.
    pub unit: Unit,
    /// Spend process.
    pub spend: GammaGamma,
    /// Seed of the generator.
    pub seed: u64,
}

/// Draw the transactions (day numbers from 0) of every customer.
///
/// Each customer has a purchase rate per unit λ ~ Gamma(r, 1/α) and a dropout probability
/// p ~ Beta(a, b); after each repeat purchase they leave with probability p. Their purchase
/// values are Gamma(p, ν) with ν ~ Gamma(q, γ).
pub fn simulate(s: &Simulation) -> Result<Vec<Txn>, String> {
    let bad = |e: &dyn std::fmt::Display| format!("invalid simulation parameter: {e}");
    let mut rng = StdRng::seed_from_u64(s.seed);
    let rate = Gamma::new(s.purchases.r, 1.0 / s.purchases.alpha).map_err(|e| bad(&e))?;
    let dropout = Beta::new(s.purchases.a, s.purchases.b).map_err(|e| bad(&e))?;
    let scale = Gamma::new(s.spend.q, 1.0 / s.spend.gamma).map_err(|e| bad(&e))?;
    let start = Uniform::new(0, s.cohort_days.max(1)).map_err(|e| bad(&e))?;
    let mut txns = Vec::new();
    for customer in 0..s.customers {
        let lambda: f64 = rate.sample(&mut rng);
        let p: f64 = dropout.sample(&mut rng);
        let nu: f64 = scale.sample(&mut rng);
        let value = Gamma::new(s.spend.p, 1.0 / nu).map_err(|e| bad(&e))?;
        let leaves = Bernoulli::new(p.clamp(0.0, 1.0)).map_err(|e| bad(&e))?;
        let gap = Exp::new(lambda.max(1e-12)).map_err(|e| bad(&e))?;
        let first: i32 = start.sample(&mut rng);
        txns.push(Txn {
            customer,
            day: first,
            amount: value.sample(&mut rng),
        });
        let mut units = 0.0;
        loop {
            units += gap.sample(&mut rng);
            let day = f64::from(first) + (units * s.unit.days()).floor();
            if day > f64::from(s.end_day) {
                break;
            }
            let day = day as i32;
            txns.push(Txn {
                customer,
                day,
                amount: value.sample(&mut rng),
            });
            if leaves.sample(&mut rng) {
                break;
            }
        }
    }
    Ok(txns)
}

/// Write transactions as a `customer_id,date,amount` CSV, day 0 being `epoch`; customer
/// ids are `C` and the index, zero-padded to 7 digits.
pub fn write_csv(
    txns: &[Txn],
    epoch: jiff::civil::Date,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let last = txns.iter().map(|t| t.day).max().unwrap_or(0).max(0);
    let dates: Vec<String> = (0..=last)
        .map(|d| (epoch + jiff::Span::new().days(i64::from(d))).to_string())
        .collect();
    writeln!(out, "customer_id,date,amount")?;
    for t in txns {
        let date = dates.get(t.day.max(0) as usize).map_or("", String::as_str);
        writeln!(out, "C{:07},{date},{:.2}", t.customer, t.amount)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::summarize;

    fn paper() -> Simulation {
        Simulation {
            customers: 30_000,
            cohort_days: 84,
            end_day: 272,
            purchases: BgNbd {
                r: 0.243,
                alpha: 4.414,
                a: 0.793,
                b: 2.426,
            },
            unit: Unit::Week,
            spend: GammaGamma {
                p: 6.25,
                q: 3.74,
                gamma: 15.44,
            },
            seed: 7,
        }
    }

    #[test]
    fn the_same_seed_draws_the_same_history() {
        let s = Simulation {
            customers: 200,
            ..paper()
        };
        assert_eq!(simulate(&s).unwrap(), simulate(&s).unwrap());
    }

    #[test]
    fn fitting_simulated_data_recovers_the_parameters() {
        let txns = simulate(&paper()).unwrap();
        let data = summarize(&txns, 272, None, Unit::Week);
        let fit = crate::bgnbd::fit(&data).unwrap().model;
        // Same-day purchases merge and days are whole, so the recovery is close, not exact.
        assert!((fit.r - 0.243).abs() < 0.03, "{fit:?}");
        assert!((fit.alpha - 4.414).abs() < 1.0, "{fit:?}");
        assert!(
            (fit.a - 0.793).abs() < 0.25 && (fit.b - 2.426).abs() < 1.0,
            "{fit:?}"
        );
        let spend = crate::gamma_gamma::fit(&data).unwrap().model;
        assert!(
            (spend.p - 6.25).abs() < 1.5 && (spend.q - 3.74).abs() < 1.0,
            "{spend:?}"
        );
    }
}
