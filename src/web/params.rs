//! Query-string values read the same way by the pages and the JSON API.

use chrono::NaiveDate;

use super::WebError;

/// A date `YYYY-MM-DD` (surrounding spaces ignored; empty or absent: none), or a bad request whose message
/// says what to write instead, naming the parameter.
pub fn day(name: &str, value: Option<&str>) -> Result<Option<NaiveDate>, WebError> {
    match value.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| WebError::bad_request(format!("{name} must be a date like 2026-06-15."))),
    }
}

/// A whole number (surrounding spaces ignored; empty or absent: none), or a bad request naming the parameter.
pub fn whole(name: &str, value: Option<&str>) -> Result<Option<usize>, WebError> {
    match value.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| WebError::bad_request(format!("{name} must be a whole number."))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_read_or_explained() {
        assert_eq!(day("date", None).unwrap(), None);
        assert_eq!(day("date", Some("  ")).unwrap(), None);
        assert_eq!(day("date", Some(" 2026-06-15 ")).unwrap(), NaiveDate::from_ymd_opt(2026, 6, 15));
        let e = day("From", Some("15/06/2026")).unwrap_err();
        assert_eq!((e.status().as_u16(), e.public_message().as_str()), (400, "From must be a date like 2026-06-15."));
        assert!(day("until", Some("2026-02-30")).is_err());
    }

    #[test]
    fn whole_numbers_are_read_or_explained() {
        assert_eq!(whole("skip", None).unwrap(), None);
        assert_eq!(whole("skip", Some(" 40 ")).unwrap(), Some(40));
        for bad in ["-1", "ten", "99999999999999999999999"] {
            assert_eq!(whole("skip", Some(bad)).unwrap_err().public_message(), "skip must be a whole number.");
        }
    }
}
