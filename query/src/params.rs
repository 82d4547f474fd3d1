//! Reading the query parameters every answer shares: optional text and page sizes.

use tracehound_store::model::VersionDimension;

use crate::error::QueryError;

/// The parameter's text, trimmed, when it says anything.
pub fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A version dimension by its API name; the error names every dimension.
pub fn parse_dimension(name: &str) -> Result<VersionDimension, String> {
    VersionDimension::ALL.into_iter().find(|d| d.as_str() == name.trim()).ok_or_else(|| {
        format!(
            "{name:?} is not a version dimension (dimensions: {})",
            VersionDimension::ALL.map(VersionDimension::as_str).join(", ")
        )
    })
}

/// A `limit` parameter: a whole number from 1 to `max`, `default` when absent or empty.
pub fn parse_limit(value: &Option<String>, default: usize, max: usize) -> Result<usize, QueryError> {
    match non_empty(value) {
        None => Ok(default),
        Some(text) => {
            text.parse::<usize>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| QueryError::InvalidParameter {
                name: "limit",
                reason: format!("{text:?} is not a whole number from 1 to {max}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_or_blank_limit_is_the_default() {
        assert_eq!(parse_limit(&None, 50, 200).ok(), Some(50));
        assert_eq!(parse_limit(&Some("  ".into()), 50, 200).ok(), Some(50));
    }

    #[test]
    fn a_limit_outside_one_to_the_maximum_names_the_range() {
        for text in ["0", "201", "-1", "ten"] {
            let err = parse_limit(&Some(text.into()), 50, 200).expect_err(text).to_string();
            assert!(err.starts_with("invalid limit:") && err.contains("1 to 200"), "{err}");
        }
        assert_eq!(parse_limit(&Some(" 200 ".into()), 50, 200).ok(), Some(200));
    }
}
