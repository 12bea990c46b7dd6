//! Coupons, pure: unguessable codes people can read aloud, what a coupon takes off an
//! order, and whether a use is allowed.
//!
//! Codes are 80 random bits written as 16 symbols of Crockford's base 32 in groups of four
//! (`K7QM-2XPD-9FHT-W3RA`): no `I`, `L`, `O` or `U`, so a code read over the phone or typed
//! from a receipt survives the usual confusions, which [`normalise_code`] undoes.

use serde::{Deserialize, Serialize};

use crate::Micros;

/// Crockford's base-32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Symbols in a code: 16 × 5 = 80 bits of randomness.
pub const CODE_LEN: usize = 16;

/// A code from 80 random bits (`random` must come from a cryptographic generator; only
/// its low 80 bits are used), in canonical form without separators.
pub fn code_from_bits(random: u128) -> String {
    (0..CODE_LEN)
        .map(|i| ALPHABET[((random >> (5 * i)) & 31) as usize] as char)
        .collect()
}

/// A canonical code as people see it: groups of four joined by dashes.
pub fn display_code(canonical: &str) -> String {
    canonical
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Read a code as typed: case, dashes and spaces do not matter, `O` is `0` and `I`/`L` are
/// `1`. Returns the canonical form, or why it cannot be a code.
pub fn normalise_code(typed: &str) -> Result<String, String> {
    let mut out = String::with_capacity(CODE_LEN);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return Err(format!("{c:?} cannot appear in a code"));
        }
        out.push(c);
    }
    if out.len() != CODE_LEN {
        return Err(format!(
            "a code has {CODE_LEN} letters and digits, not {}",
            out.len()
        ));
    }
    Ok(out)
}

/// What a coupon takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum Discount {
    /// Whole percent of the order total, 1–100.
    Percent(i64),
    /// A fixed amount in minor units of the base currency.
    Fixed(i64),
}

impl Discount {
    /// The kinds there are.
    pub const KINDS: [&'static str; 2] = ["percent", "fixed"];

    /// Build from the stored `kind` and `value`, checking the range.
    pub fn new(kind: &str, value: i64) -> Result<Self, String> {
        match kind {
            "percent" if (1..=100).contains(&value) => Ok(Self::Percent(value)),
            "percent" => Err("a percentage is a whole number from 1 to 100".into()),
            "fixed" if value > 0 => Ok(Self::Fixed(value)),
            "fixed" => Err("a fixed discount is a positive amount in minor units".into()),
            _ => Err(format!("unknown kind {kind:?} (percent or fixed)")),
        }
    }

    /// `percent` or `fixed`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Percent(_) => "percent",
            Self::Fixed(_) => "fixed",
        }
    }

    /// The number stored with the kind.
    pub fn value(&self) -> i64 {
        match *self {
            Self::Percent(v) | Self::Fixed(v) => v,
        }
    }

    /// What it takes off an order of `total` (never more than the total; percentages
    /// round down, in the shop's favour).
    pub fn off(&self, total: i64) -> i64 {
        let total = total.max(0);
        match *self {
            Self::Percent(p) => (i128::from(total) * i128::from(p) / 100) as i64,
            Self::Fixed(v) => v.min(total),
        }
    }
}

/// The coupon a reward or a referral issues: its discount, minimum order and how many
/// days it stays valid from issue. Single use, for the contact it is issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    /// What it takes off.
    pub discount: Discount,
    /// The smallest order total it applies to, minor units.
    pub min_order: i64,
    /// Days it stays valid from issue.
    pub valid_days: u32,
}

impl Template {
    /// Read `{"kind", "value", "min_order"?, "valid_days"?}`; errors name the field.
    pub fn from_json(v: &serde_json::Value) -> Result<Self, (String, String)> {
        let fail = |field: &str, reason: &str| (field.to_owned(), reason.to_owned());
        let obj = v
            .as_object()
            .ok_or_else(|| fail("", "an object with kind and value is expected"))?;
        const KNOWN: [&str; 4] = ["kind", "value", "min_order", "valid_days"];
        if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(fail(
                k,
                "unknown field (expected kind, value, min_order, valid_days)",
            ));
        }
        let kind = obj
            .get("kind")
            .and_then(|k| k.as_str())
            .ok_or_else(|| fail("kind", "percent or fixed is expected"))?;
        let value = obj
            .get("value")
            .and_then(|v| v.as_i64())
            .ok_or_else(|| fail("value", "a whole number is expected"))?;
        if !Discount::KINDS.contains(&kind) {
            return Err(fail("kind", "percent or fixed is expected"));
        }
        let discount = Discount::new(kind, value).map_err(|e| fail("value", &e))?;
        let min_order = match obj.get("min_order") {
            None => 0,
            Some(v) => v
                .as_i64()
                .filter(|n| *n >= 0)
                .ok_or_else(|| fail("min_order", "an amount in minor units, 0 or more"))?,
        };
        let valid_days = match obj.get("valid_days") {
            None => 90,
            Some(v) => match v.as_u64() {
                Some(n @ 1..=3650) => n as u32,
                _ => return Err(fail("valid_days", "a whole number of days, 1 to 3650")),
            },
        };
        Ok(Self {
            discount,
            min_order,
            valid_days,
        })
    }

    /// The document form.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.discount.kind(),
            "value": self.discount.value(),
            "min_order": self.min_order,
            "valid_days": self.valid_days,
        })
    }
}

/// A coupon's terms and how much of it is left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// What it takes off.
    pub discount: Discount,
    /// The smallest order total it applies to, minor units.
    pub min_order: i64,
    /// Uses allowed (`None` = unlimited).
    pub max_uses: Option<i64>,
    /// Uses so far.
    pub uses: i64,
    /// The only contact who may use it (`None` = anyone).
    pub contact_id: Option<i64>,
    /// Usable before this instant.
    pub expires_at: Option<Micros>,
    /// Not withdrawn.
    pub active: bool,
}

/// Why a coupon cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Withdrawn (e.g. its referral was revoked).
    #[error("the coupon was withdrawn")]
    Withdrawn,
    /// Past its expiry.
    #[error("the coupon has expired")]
    Expired,
    /// Every use is taken.
    #[error("the coupon has been used up")]
    UsedUp,
    /// Issued to someone else.
    #[error("the coupon belongs to another contact")]
    NotYours,
    /// The order is too small.
    #[error("the order is below the coupon's minimum")]
    BelowMinimum,
}

impl Refusal {
    /// A stable identifier for APIs.
    pub fn slug(&self) -> &'static str {
        match self {
            Self::Withdrawn => "withdrawn",
            Self::Expired => "expired",
            Self::UsedUp => "used-up",
            Self::NotYours => "not-yours",
            Self::BelowMinimum => "below-minimum",
        }
    }
}

impl Terms {
    /// The discount `contact` gets on an order of `total` at `now`, or why none.
    pub fn check(&self, contact: Option<i64>, total: i64, now: Micros) -> Result<i64, Refusal> {
        if !self.active {
            return Err(Refusal::Withdrawn);
        }
        if self.expires_at.is_some_and(|e| now >= e) {
            return Err(Refusal::Expired);
        }
        if self.max_uses.is_some_and(|m| self.uses >= m) {
            return Err(Refusal::UsedUp);
        }
        if self.contact_id.is_some() && self.contact_id != contact {
            return Err(Refusal::NotYours);
        }
        if total < self.min_order {
            return Err(Refusal::BelowMinimum);
        }
        Ok(self.discount.off(total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn codes_survive_display_and_retyping(bits in any::<u128>()) {
            let code = code_from_bits(bits);
            prop_assert_eq!(code.len(), CODE_LEN);
            prop_assert_eq!(normalise_code(&display_code(&code)).unwrap(), code.clone());
            prop_assert_eq!(normalise_code(&display_code(&code).to_lowercase()).unwrap(), code);
        }

        #[test]
        fn distinct_bits_give_distinct_codes(a in any::<u128>(), b in any::<u128>()) {
            let mask = (1u128 << 80) - 1;
            prop_assert_eq!(code_from_bits(a) == code_from_bits(b), a & mask == b & mask);
        }

        #[test]
        fn normalising_never_panics(s in "\\PC{0,40}") {
            let _ = normalise_code(&s);
        }

        #[test]
        fn a_discount_never_exceeds_the_total(p in 1i64..=100, fixed in 1i64..1_000_000, total in 0i64..10_000_000) {
            prop_assert!(Discount::Percent(p).off(total) <= total);
            prop_assert!(Discount::Fixed(fixed).off(total) <= total);
        }
    }

    #[test]
    fn confusable_letters_are_read_as_digits() {
        assert_eq!(
            normalise_code("oil0-abcd-efgh-jkmn").unwrap(),
            "0110ABCDEFGHJKMN"
        );
        assert!(
            normalise_code("ABCD-EFGH-JKMN-PQRU").is_err(),
            "U is not in the alphabet"
        );
        assert!(normalise_code("ABCD").unwrap_err().contains("16"));
    }

    fn terms() -> Terms {
        Terms {
            discount: Discount::Percent(10),
            min_order: 50_000,
            max_uses: Some(1),
            uses: 0,
            contact_id: Some(7),
            expires_at: Some(1_000),
            active: true,
        }
    }

    #[test]
    fn each_condition_refuses_with_its_reason() {
        assert_eq!(terms().check(Some(7), 100_000, 10), Ok(10_000));
        assert_eq!(terms().check(Some(8), 100_000, 10), Err(Refusal::NotYours));
        assert_eq!(
            terms().check(Some(7), 49_999, 10),
            Err(Refusal::BelowMinimum)
        );
        assert_eq!(
            terms().check(Some(7), 100_000, 1_000),
            Err(Refusal::Expired)
        );
        let used = Terms { uses: 1, ..terms() };
        assert_eq!(used.check(Some(7), 100_000, 10), Err(Refusal::UsedUp));
        let off = Terms {
            active: false,
            ..terms()
        };
        assert_eq!(off.check(Some(7), 100_000, 10), Err(Refusal::Withdrawn));
        let open = Terms {
            contact_id: None,
            ..terms()
        };
        assert_eq!(open.check(None, 100_000, 10), Ok(10_000));
    }

    #[test]
    fn discounts_are_checked_and_rounded_down() {
        assert_eq!(Discount::new("percent", 15).unwrap().off(999), 149);
        assert_eq!(Discount::new("fixed", 500).unwrap().off(300), 300);
        assert!(Discount::new("percent", 101).is_err());
        assert!(Discount::new("fixed", 0).is_err());
        assert!(Discount::new("free", 1).is_err());
    }
}
