//! Choosing the batch size by measurement: the peak memory of one gradient call for one image,
//! against the run's memory budget.

/// A field of `/proc/self/status` in bytes (Linux), e.g. `VmHWM` (peak) or `VmRSS` (now).
fn status_bytes(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The process's peak resident memory (`VmHWM`, Linux) in bytes, since the last
/// [`peak_growth`] reset it.
pub fn peak_bytes() -> Option<u64> {
    status_bytes("VmHWM")
}

/// Runs `f` and returns how far the resident memory peaked above where it started, in bytes,
/// where the platform can tell (Linux); `None` elsewhere.
pub fn peak_growth<T>(f: impl FnOnce() -> T) -> (T, Option<u64>) {
    // Writing 5 to clear_refs resets the peak (VmHWM) to the current size.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = status_bytes("VmRSS");
    let value = f();
    let after = status_bytes("VmHWM");
    match (reset, before, after) {
        (true, Some(b), Some(a)) => (value, Some(a.saturating_sub(b))),
        _ => (value, None),
    }
}

/// The batch size for `per_image` bytes per image within `budget` bytes, at most `max`.
pub fn batch_for(per_image: Option<u64>, budget: u64, max: u32) -> u32 {
    match per_image {
        Some(p) if p > 0 => (budget / p).clamp(1, max as u64) as u32,
        _ => max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_bounds_the_batch() {
        assert_eq!(batch_for(Some(300), 1000, 8), 3);
        assert_eq!(batch_for(Some(3000), 1000, 8), 1);
        assert_eq!(batch_for(Some(1), 1000, 8), 8);
        assert_eq!(batch_for(None, 1000, 8), 8);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_large_allocation_is_seen() {
        let (_, grew) = peak_growth(|| {
            let v = vec![1u8; 64 << 20];
            std::hint::black_box(&v);
        });
        let g = grew.expect("Linux reports the peak");
        assert!(g >= 60 << 20, "saw {g} bytes");
    }
}
