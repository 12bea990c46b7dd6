//! Money is an integer amount of minor units plus an ISO 4217 currency code.

use std::str::FromStr;

/// A validated ISO 4217 currency code, upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Parse a three-letter code (`USD`, `vnd`). Unknown codes are an error.
    pub fn parse(code: &str) -> Result<Self, String> {
        iso_currency::Currency::from_code(&code.trim().to_ascii_uppercase())
            .map(Self)
            .ok_or_else(|| format!("{code:?} is not an ISO 4217 currency code"))
    }

    /// The three-letter code.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// How many minor units make one major unit (100 for USD, 1 for VND).
    pub fn minor_per_major(&self) -> i64 {
        let exp = self.0.exponent().unwrap_or(0);
        10i64.pow(u32::from(exp))
    }
}

impl FromStr for Currency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Parse a decimal amount written in major units (`12.34`, `-0.5`, `1,234.50`) into minor
/// units of `currency`, exactly: no floating point, and more decimals than the currency has
/// is an error rather than a silent rounding.
pub fn parse_major_amount(text: &str, currency: Currency) -> Result<i64, String> {
    let t = text.trim().replace(',', "");
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.as_str()),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty() && frac_part.is_empty() || !ok(int_part) || !ok(frac_part) {
        return Err(format!("{text:?} is not an amount"));
    }
    let scale = currency.minor_per_major();
    let decimals = scale.ilog10() as usize;
    let frac_trimmed = frac_part.trim_end_matches('0');
    if frac_trimmed.len() > decimals {
        return Err(format!("{text:?} has more decimals than {currency} allows"));
    }
    let overflow = || format!("{text:?} is too large");
    let major: i64 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().map_err(|_| overflow())?
    };
    let mut minor: i64 = 0;
    if !frac_trimmed.is_empty() {
        let padded = format!("{frac_trimmed:0<decimals$}");
        minor = padded.parse().map_err(|_| overflow())?;
    }
    let value = major
        .checked_mul(scale)
        .and_then(|m| m.checked_add(minor))
        .ok_or_else(overflow)?;
    Ok(if neg { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_codes_are_validated_and_normalised() {
        assert_eq!(Currency::parse("usd").unwrap().code(), "USD");
        assert_eq!(Currency::parse("VND").unwrap().minor_per_major(), 1);
        assert!(Currency::parse("XYZ").is_err());
        assert!(Currency::parse("").is_err());
    }

    #[test]
    fn major_amounts_parse_exactly() {
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(parse_major_amount("29.33", usd), Ok(2933));
        assert_eq!(parse_major_amount("0", usd), Ok(0));
        assert_eq!(parse_major_amount("1,234.5", usd), Ok(123_450));
        assert_eq!(parse_major_amount("-3.10", usd), Ok(-310));
        assert!(parse_major_amount("1.234", usd).is_err());
        assert!(parse_major_amount("abc", usd).is_err());
        assert!(parse_major_amount("99999999999999999999", usd).is_err());
        let vnd = Currency::parse("VND").unwrap();
        assert_eq!(parse_major_amount("150000", vnd), Ok(150_000));
        assert!(parse_major_amount("1.5", vnd).is_err());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn formatted_amounts_parse_back_exactly(minor in -1_000_000_000_000i64..1_000_000_000_000) {
            let usd = Currency::parse("USD").unwrap();
            let text = format!("{}{}.{:02}", if minor < 0 { "-" } else { "" }, minor.abs() / 100, minor.abs() % 100);
            prop_assert_eq!(parse_major_amount(&text, usd), Ok(minor));
        }

        #[test]
        fn any_text_is_an_amount_or_an_error(text in "\\PC{0,24}") {
            let _ = parse_major_amount(&text, Currency::parse("VND").unwrap());
        }
    }
}
