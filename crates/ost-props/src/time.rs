//! FILETIME (100-ns ticks since 1601-01-01 UTC) and its RFC 3339 form.

use std::fmt;

/// A Windows FILETIME.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileTime(pub u64);

/// Ticks between 1601-01-01 and 1970-01-01.
const UNIX_EPOCH_TICKS: u64 = 116_444_736_000_000_000;

impl FileTime {
    /// Seconds since the Unix epoch (negative before 1970).
    pub fn unix_seconds(self) -> i64 {
        (self.0 as i128 - UNIX_EPOCH_TICKS as i128).div_euclid(10_000_000) as i64
    }

    /// A FILETIME from Unix seconds and 100-ns ticks within the second.
    pub fn from_unix(seconds: i64, ticks: u32) -> FileTime {
        let t = seconds as i128 * 10_000_000 + ticks as i128 + UNIX_EPOCH_TICKS as i128;
        FileTime(t.clamp(0, u64::MAX as i128) as u64)
    }
}

/// Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for FileTime {
    /// RFC 3339 UTC with all seven fraction digits: `2020-09-16T09:12:59.3800040Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ticks = self.0 as i128 - UNIX_EPOCH_TICKS as i128;
        let secs = ticks.div_euclid(10_000_000) as i64;
        let frac = ticks.rem_euclid(10_000_000) as u32;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:07}Z",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_oracle() {
        // hughbe_backup.pst's Inbox message: lastModificationTime 1600247579 (unix).
        let t = FileTime::from_unix(1_600_247_579, 3_800_040);
        assert_eq!(t.to_string(), "2020-09-16T09:12:59.3800040Z");
        assert_eq!(t.unix_seconds(), 1_600_247_579);
        assert_eq!(FileTime(0).to_string(), "1601-01-01T00:00:00.0000000Z");
        assert_eq!(
            FileTime(UNIX_EPOCH_TICKS).to_string(),
            "1970-01-01T00:00:00.0000000Z"
        );
        assert_eq!(
            FileTime::from_unix(951_782_400, 0).to_string(),
            "2000-02-29T00:00:00.0000000Z"
        );
        // The largest FILETIME still prints (year 60056).
        assert!(FileTime(u64::MAX).to_string().starts_with("60056-"));
    }
}
