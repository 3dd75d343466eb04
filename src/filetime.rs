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
    }
}
