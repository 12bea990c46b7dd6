//! Phone numbers, validated with libphonenumber's metadata and kept in E.164.

use phonenumber::country::Id;

/// A valid phone number in E.164 form (`+84912345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

/// The region used to read numbers written without a country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(Id);

impl Region {
    /// Parse an ISO 3166 alpha-2 region code such as `VN` or `US`.
    pub fn parse(code: &str) -> Result<Self, String> {
        code.trim()
            .to_ascii_uppercase()
            .parse::<Id>()
            .map(Self)
            .map_err(|_| format!("{code:?} is not a region code (ISO 3166 alpha-2, e.g. VN)"))
    }

    /// The two-letter code.
    pub fn code(&self) -> String {
        let code: &str = self.0.as_ref();
        code.to_owned()
    }
}

impl Phone {
    /// Validate `raw` (national numbers are read in `region`) and normalise to E.164.
    pub fn parse(raw: &str, region: Region) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("is empty".into());
        }
        let number = phonenumber::parse(Some(region.0), trimmed)
            .map_err(|e| format!("{raw:?} is not a phone number ({e})"))?;
        if !phonenumber::is_valid(&number) {
            return Err(format!("{raw:?} is not a valid phone number"));
        }
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// The E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_numbers_normalise_to_e164() {
        let vn = Region::parse("vn").unwrap();
        assert_eq!(
            Phone::parse("0912 345 678", vn).unwrap().as_str(),
            "+84912345678"
        );
        assert_eq!(
            Phone::parse("+84 91 234 5678", vn).unwrap().as_str(),
            "+84912345678"
        );
        assert_eq!(
            Phone::parse("028 3829 5555", vn).unwrap().as_str(),
            "+842838295555"
        );
    }

    #[test]
    fn numbers_in_other_regions_keep_their_country_code() {
        let us = Region::parse("US").unwrap();
        assert_eq!(
            Phone::parse("(415) 555-2671", us).unwrap().as_str(),
            "+14155552671"
        );
        assert_eq!(
            Phone::parse("+84912345678", us).unwrap().as_str(),
            "+84912345678"
        );
    }

    #[test]
    fn invalid_numbers_and_regions_are_rejected() {
        let vn = Region::parse("VN").unwrap();
        assert!(Phone::parse("12", vn).is_err());
        assert!(Phone::parse("not a phone", vn).is_err());
        assert!(Region::parse("XX").is_err());
    }
}
