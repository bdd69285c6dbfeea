//! Unix seconds as UTC calendar time, for logs and the CLI (no time-zone database needed).

/// Unix seconds → `YYYY-MM-DD HH:MM:SS` (proleptic Gregorian, UTC).
pub fn civil(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// RFC 3339, `2026-11-25T17:30:00Z`.
pub fn rfc3339(unix: i64) -> String {
    civil(unix).replace(' ', "T") + "Z"
}

/// RFC 3339 with milliseconds, `2026-11-25T17:30:00.123Z`, for log lines (a clock set before
/// 1970 reads as 1970 rather than failing the line).
pub fn rfc3339_millis(time: std::time::SystemTime) -> String {
    let since = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    format!(
        "{}.{:03}Z",
        rfc3339(secs).trim_end_matches('Z'),
        since.subsec_millis()
    )
}

/// Parse `300ms`, `3s`, `1.5s`, `2m` or a bare number of seconds, from 1 ms up to `max`.
pub fn parse_duration(text: &str, max: std::time::Duration) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit_secs) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration; write e.g. 300ms, 3s or 2m"))?;
    let secs = value * unit_secs;
    if !(0.001..=max.as_secs_f64()).contains(&secs) {
        return Err(format!("{text} is outside 1ms..{}s", max.as_secs()));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_times() {
        assert_eq!(civil(0), "1970-01-01 00:00:00");
        assert_eq!(civil(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(civil(1_795_627_800), "2026-11-25 17:30:00");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_795_627_800_045);
        assert_eq!(rfc3339_millis(t), "2026-11-25T17:30:00.045Z");
    }
}
