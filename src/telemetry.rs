//! Logging: pretty lines locally, JSON lines in production. Personal data is masked before it reaches a log.

use tracing_subscriber::{fmt, prelude::*, EnvFilter};

use crate::config::{LogFormat, TelemetrySettings};

/// Installs the global subscriber once; later calls (tests spawning many apps) are no-ops.
pub fn init(settings: &TelemetrySettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match settings.format {
        LogFormat::Pretty => registry.with(fmt::layer().with_target(false)).try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .try_init(),
    };
    // Already installed: keep the first one.
    drop(result);
}

/// `oAbc…xyz9`: enough to correlate log lines, not enough to identify a person.
pub fn mask_openid(openid: &str) -> String {
    let chars: Vec<char> = openid.chars().collect();
    if chars.len() <= 8 {
        return "***".into();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// `138****5678`, as staff and logs see a phone number.
pub fn mask_phone(phone: &str) -> String {
    let mut digits: Vec<char> = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    // A mainland number is 11 digits; anything before them is a country code.
    if digits.len() > 11 {
        digits.drain(..digits.len() - 11);
    }
    if digits.len() < 7 {
        return "****".into();
    }
    let head: String = digits[..3].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_the_ends() {
        assert_eq!(mask_openid("oAbCdEfGhIjKlMnOpQrStUvWxYz1"), "oAbC…xYz1");
        assert_eq!(mask_openid("short"), "***");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("+86 138 1234 5678"), "138****5678");
    }
}
