//! How well a fitted purchase model describes the data: the numbers behind the published
//! diagnostic charts (holdout purchases by calibration frequency, the P(alive) matrix and
//! cumulative tracking of repeat purchases), kept apart from any drawing.

use crate::model::PurchaseModel;
use crate::summary::{CustomerSummary, Txn, Unit};

/// Customers with one calibration frequency (the last bucket holds all above it).
#[derive(Debug, Clone, PartialEq)]
pub struct FrequencyRow {
    /// Calibration frequency, or the lowest frequency of the last bucket.
    pub frequency: usize,
    /// Customers in the bucket.
    pub customers: usize,
    /// Purchases the model expects of them in the holdout period.
    pub predicted: f64,
    /// Purchases they made in the holdout period.
    pub actual: f64,
}

/// Predicted against actual holdout purchases, grouped by calibration frequency
/// `0, 1, …, last` (the last bucket is `last` and more).
pub fn holdout_by_frequency(
    model: &dyn PurchaseModel,
    summaries: &[CustomerSummary],
    holdout_units: f64,
    last: usize,
) -> Vec<FrequencyRow> {
    let mut rows: Vec<FrequencyRow> = (0..=last)
        .map(|frequency| FrequencyRow {
            frequency,
            customers: 0,
            predicted: 0.0,
            actual: 0.0,
        })
        .collect();
    for c in summaries {
        let row = &mut rows[(c.frequency as usize).min(last)];
        row.customers += 1;
        row.predicted +=
            model.conditional_expected_purchases(holdout_units, c.frequency, c.recency, c.t);
        row.actual += c.holdout_frequency;
    }
    rows
}

/// `matrix[x][r]`: P(alive) of a customer with `x` repeat purchases and recency `r` whole
/// units, observed for `t` units.
pub fn p_alive_matrix(model: &dyn PurchaseModel, max_frequency: usize, t: f64) -> Vec<Vec<f64>> {
    let recencies = t.floor().max(0.0) as usize;
    (0..=max_frequency)
        .map(|x| {
            (0..=recencies)
                .map(|r| model.p_alive(x as f64, r as f64, t))
                .collect()
        })
        .collect()
}

/// Cumulative repeat purchases of a cohort at the end of one period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackingPoint {
    /// Last day of the period.
    pub day: i32,
    /// Repeat purchase days made up to and including `day`.
    pub actual: f64,
    /// Repeat purchases the model expects by then.
    pub predicted: f64,
}

/// Cumulative repeat purchases of the customers in `summaries`, every `step_days` from their
/// earliest first purchase to `end_day`: actual (distinct purchase days after the first) and
/// predicted (Σ E[X(time since first purchase)]).
pub fn cumulative_tracking(
    model: &dyn PurchaseModel,
    txns: &[Txn],
    summaries: &[CustomerSummary],
    end_day: i32,
    step_days: i32,
    unit: Unit,
) -> Vec<TrackingPoint> {
    let mut included = vec![
        false;
        txns.iter()
            .map(|t| t.customer as usize + 1)
            .max()
            .unwrap_or(0)
    ];
    for s in summaries {
        if let Some(flag) = included.get_mut(s.customer as usize) {
            *flag = true;
        }
    }
    let mut days: Vec<(u32, i32)> = txns
        .iter()
        .filter(|t| included[t.customer as usize])
        .map(|t| (t.customer, t.day))
        .collect();
    days.sort_unstable();
    days.dedup();
    let Some(start) = days.iter().map(|(_, d)| *d).min() else {
        return Vec::new();
    };
    // Per day since `start`: how many customers bought for the first time, and how many
    // repeat purchase days fell on it.
    let span = (end_day - start).max(0) as usize + 1;
    let mut firsts = vec![0.0_f64; span];
    let mut repeats = vec![0.0_f64; span];
    for (i, (customer, day)) in days.iter().enumerate() {
        let offset = (day - start) as usize;
        if offset >= span {
            continue;
        }
        if i == 0 || days[i - 1].0 != *customer {
            firsts[offset] += 1.0;
        } else {
            repeats[offset] += 1.0;
        }
    }
    let step = step_days.max(1) as usize;
    let mut points = Vec::new();
    let mut actual = 0.0;
    let mut counted = 0;
    let mut end = step - 1;
    while end < span + step - 1 {
        let end_offset = end.min(span - 1);
        actual += repeats[counted..=end_offset].iter().sum::<f64>();
        counted = end_offset + 1;
        let predicted = firsts[..=end_offset]
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0.0)
            .map(|(first, n)| {
                n * model.expected_purchases((end_offset - first) as f64 / unit.days())
            })
            .sum();
        points.push(TrackingPoint {
            day: start + end_offset as i32,
            actual,
            predicted,
        });
        if end_offset == span - 1 {
            break;
        }
        end += step;
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgnbd::BgNbd;
    use crate::summary::summarize;

    const MODEL: BgNbd = BgNbd {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };

    fn t(customer: u32, day: i32) -> Txn {
        Txn {
            customer,
            day,
            amount: 1.0,
        }
    }

    #[test]
    fn tracking_counts_repeat_days_and_predicts_from_each_first_purchase() {
        // Customer 0 starts on day 0 and returns on days 3 and 10 (twice on 10); customer
        // 1 starts on day 5 and never returns; customer 2 starts after calibration.
        let txns = [t(0, 0), t(0, 3), t(0, 10), t(0, 10), t(1, 5), t(2, 20)];
        let summaries = summarize(&txns, 14, None, Unit::Week);
        let points = cumulative_tracking(&MODEL, &txns, &summaries, 14, 7, Unit::Week);
        let days: Vec<i32> = points.iter().map(|p| p.day).collect();
        assert_eq!(days, vec![6, 13, 14]);
        let actual: Vec<f64> = points.iter().map(|p| p.actual).collect();
        assert_eq!(actual, vec![1.0, 2.0, 2.0]);
        let expected_at_13 =
            MODEL.expected_purchases(13.0 / 7.0) + MODEL.expected_purchases(8.0 / 7.0);
        assert!((points[1].predicted - expected_at_13).abs() < 1e-12);
    }

    #[test]
    fn the_last_frequency_bucket_holds_everyone_above_it() {
        let txns: Vec<Txn> = (0..5).map(|d| t(0, d)).chain([t(1, 0)]).collect();
        let summaries = summarize(&txns, 10, Some(20), Unit::Day);
        let rows = holdout_by_frequency(&MODEL, &summaries, 10.0, 2);
        let customers: Vec<usize> = rows.iter().map(|r| r.customers).collect();
        assert_eq!(
            customers,
            vec![1, 0, 1],
            "frequency 4 lands in the 2+ bucket"
        );
    }

    #[test]
    fn p_alive_falls_with_recency_gap_for_repeat_buyers() {
        let m = p_alive_matrix(&MODEL, 3, 10.0);
        assert_eq!((m.len(), m[0].len()), (4, 11));
        assert!(m[0].iter().all(|p| *p == 1.0), "BG/NBD: no repeats, alive");
        assert!(
            m[3][10] > m[3][2],
            "a recent repeat buyer is likelier alive"
        );
    }
}
