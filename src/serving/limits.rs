//! The default cap on open connections: below the process's limit on open
//! files, with room left for the database, the listener and the runtime.

/// The cap when the open-files limit is unknown or very high.
const MOST_CONNECTIONS: usize = 10_000;
/// File descriptors kept for everything but connections.
const RESERVED_DESCRIPTORS: usize = 64;
/// The cap is never below this, whatever the limit says.
const FEWEST_CONNECTIONS: usize = 16;

/// `configured`, or the default: the open-files limit less
/// [`RESERVED_DESCRIPTORS`], at most [`MOST_CONNECTIONS`].
pub(crate) fn connection_cap(configured: Option<usize>) -> usize {
    configured.unwrap_or_else(|| cap_for(open_files_limit()))
}

fn cap_for(open_files: Option<u64>) -> usize {
    match open_files {
        Some(limit) => usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .saturating_sub(RESERVED_DESCRIPTORS)
            .clamp(FEWEST_CONNECTIONS, MOST_CONNECTIONS),
        None => MOST_CONNECTIONS,
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the limit into the struct it is given.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) };
    (read == 0 && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn open_files_limit() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_stays_below_the_open_files_limit() {
        let cases = [
            (Some(1024), 960),
            (Some(20_000), MOST_CONNECTIONS),
            (Some(10_064), MOST_CONNECTIONS),
            (Some(50), FEWEST_CONNECTIONS),
            (None, MOST_CONNECTIONS),
        ];
        for (limit, cap) in cases {
            assert_eq!(cap_for(limit), cap, "{limit:?}");
        }
        assert_eq!(connection_cap(Some(3)), 3);
    }
}
