//! FILETIME: 100-nanosecond intervals since 1601-01-01 UTC (MS-NLMP §2.2.2.1 MsvAvTimestamp,
//! §2.2.2.7 TimeStamp).

use std::time::{Duration, SystemTime};

/// Seconds from 1601-01-01 to 1970-01-01.
const EPOCH_DIFFERENCE_SECS: u64 = 11_644_473_600;

/// The FILETIME of `time`; times before 1601 give 0.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1);
/// assert_eq!(ntlm::filetime::from_system_time(t), 116_444_736_010_000_000);
/// ```
pub fn from_system_time(time: SystemTime) -> u64 {
    let since_1601 = match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => after.saturating_add(Duration::from_secs(EPOCH_DIFFERENCE_SECS)),
        Err(before) => Duration::from_secs(EPOCH_DIFFERENCE_SECS).saturating_sub(before.duration()),
    };
    u64::try_from(since_1601.as_nanos() / 100).unwrap_or(u64::MAX)
}

/// The `SystemTime` of a FILETIME.
pub fn to_system_time(filetime: u64) -> SystemTime {
    let since_1601 = Duration::from_secs(filetime / 10_000_000)
        + Duration::from_nanos((filetime % 10_000_000) * 100);
    let epoch_1601 = SystemTime::UNIX_EPOCH - Duration::from_secs(EPOCH_DIFFERENCE_SECS);
    epoch_1601 + since_1601
}

/// The absolute difference between two FILETIMEs.
pub fn distance(a: u64, b: u64) -> Duration {
    let d = a.abs_diff(b);
    Duration::from_secs(d / 10_000_000) + Duration::from_nanos((d % 10_000_000) * 100)
}

/// `time` as ISO 8601 UTC with second precision, e.g. `2023-11-14T22:13:20Z`.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// assert_eq!(ntlm::filetime::iso8601(t), "2023-11-14T22:13:20Z");
/// assert_eq!(ntlm::filetime::iso8601(ntlm::filetime::to_system_time(0)), "1601-01-01T00:00:00Z");
/// ```
pub fn iso8601(time: SystemTime) -> String {
    // Seconds since 1601-01-01, which is day 0 of a 400-year Gregorian cycle.
    let secs = from_system_time(time) / 10_000_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (cycles, mut day) = (days / 146_097, days % 146_097);
    let mut year = 1601 + cycles * 400;
    let leap = |y: u64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    loop {
        let len = if leap(year) { 366 } else { 365 };
        if day < len {
            break;
        }
        day -= len;
        year += 1;
    }
    let months = [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 1;
    for len in months {
        if day < len {
            break;
        }
        day -= len;
        month += 1;
    }
    format!(
        "{year:04}-{month:02}-{:02}T{:02}:{:02}:{:02}Z",
        day + 1,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_700);
        assert_eq!(to_system_time(from_system_time(t)), t);
        assert_eq!(
            from_system_time(
                SystemTime::UNIX_EPOCH - Duration::from_secs(EPOCH_DIFFERENCE_SECS + 5)
            ),
            0
        );
        assert_eq!(distance(10, 10_000_010), Duration::from_secs(1));
        let leap_day = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(iso8601(leap_day), "2000-02-29T00:00:00Z");
        let end = SystemTime::UNIX_EPOCH + Duration::from_secs(4_102_444_799);
        assert_eq!(iso8601(end), "2099-12-31T23:59:59Z");
    }
}
