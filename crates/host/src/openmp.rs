//! OpenMP's wait policy for the libraries plugins load (libtorch's libgomp): libgomp reads it
//! from the environment once, when a plugin first loads it, so a process sets it first.

/// Unless the user set `OMP_WAIT_POLICY` or `GOMP_SPINCOUNT`: threads spin 100000 times, then
/// sleep. libgomp's default (300000 spins) made one gradient pass 13x slower on a busy 2-core
/// machine; sleeping at once (`PASSIVE`) made a LAM of esrgan-slim on tch 1.5x slower on a quiet
/// one (0.45 s against 0.30 s: the wake-up of every small parallel region). The short spin is
/// as fast as spinning when the machine is quiet and the fastest of the three when it is busy
/// (0.70 s against 0.73-0.93 s passive, 1.01-1.07 s spinning, with two busy loops on the two
/// cores).
/// Returns whether it set them (a caller that starts other programs may want them
/// without: [`VARIABLES`]).
pub fn short_spin_then_sleep() -> bool {
    let unset = VARIABLES.iter().all(|v| std::env::var_os(v).is_none());
    if unset {
        std::env::set_var("OMP_WAIT_POLICY", "PASSIVE");
        std::env::set_var("GOMP_SPINCOUNT", "100000");
    }
    unset
}

/// The variables [`short_spin_then_sleep`] sets.
pub const VARIABLES: [&str; 2] = ["OMP_WAIT_POLICY", "GOMP_SPINCOUNT"];
