//! What every purchase model answers, so callers can hold any of them, and the discounted
//! lifetime value built on it.

use crate::bgnbd::BgNbd;
use crate::mbgnbd::ModifiedBgNbd;
use crate::pareto::ParetoNbd;

/// A fitted purchase model.
pub trait PurchaseModel: Sync {
    /// Parameters as (paper name, value).
    fn params(&self) -> Vec<(&'static str, f64)>;
    /// Probability that a customer with history (x, tx, T) is still active.
    fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64;
    /// Expected purchases in the next `horizon` units given the history.
    fn conditional_expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> f64;
    /// Expected purchases of a new customer in their first `t` units.
    fn expected_purchases(&self, t: f64) -> f64;
}

macro_rules! purchase_model {
    ($ty:ty, $($field:ident),+) => {
        impl PurchaseModel for $ty {
            fn params(&self) -> Vec<(&'static str, f64)> {
                vec![$((stringify!($field), self.$field)),+]
            }
            fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
                <$ty>::p_alive(self, x, tx, t)
            }
            fn conditional_expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> f64 {
                <$ty>::conditional_expected_purchases(self, horizon, x, tx, t)
            }
            fn expected_purchases(&self, t: f64) -> f64 {
                <$ty>::expected_purchases(self, t)
            }
        }
    };
}

purchase_model!(BgNbd, r, alpha, a, b);
purchase_model!(ModifiedBgNbd, r, alpha, a, b);
purchase_model!(ParetoNbd, r, alpha, s, beta);

/// Discounted value of a customer's expected purchases over the next `horizon` whole units:
/// Σₖ value × (E[k] − E[k−1]) / (1 + discount)ᵏ.
pub fn lifetime_value(
    model: &dyn PurchaseModel,
    horizon: u32,
    discount: f64,
    x: f64,
    tx: f64,
    t: f64,
    value: f64,
) -> f64 {
    let mut previous = 0.0;
    let mut total = 0.0;
    for k in 1..=horizon {
        let expected = model.conditional_expected_purchases(f64::from(k), x, tx, t);
        total += value * (expected - previous) / (1.0 + discount).powi(k as i32);
        previous = expected;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetime_value_without_discount_is_value_times_expected_purchases() {
        let m = BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        let clv = lifetime_value(&m, 52, 0.0, 2.0, 30.0, 38.0, 10.0);
        let expected = 10.0 * m.conditional_expected_purchases(52.0, 2.0, 30.0, 38.0);
        assert!((clv - expected).abs() < 1e-9);
        assert!(
            lifetime_value(&m, 52, 0.01, 2.0, 30.0, 38.0, 10.0) < clv,
            "discounting lowers it"
        );
    }

    #[test]
    fn a_customer_silent_for_long_is_less_likely_alive() {
        let m = BgNbd {
            r: 0.243,
            alpha: 4.414,
            a: 0.793,
            b: 2.426,
        };
        assert!(m.p_alive(3.0, 35.0, 38.0) > m.p_alive(3.0, 5.0, 38.0));
        assert_eq!(m.p_alive(0.0, 0.0, 38.0), 1.0);
    }
}
