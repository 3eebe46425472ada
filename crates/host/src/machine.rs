//! What the machine is, in words, for keys of timings that hold on one kind of machine only.

/// The CPU's model name (`/proc/cpuinfo`'s first `model name` on Linux), else the
/// architecture (`x86_64`, `aarch64`...).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                let (key, value) = l.split_once(':')?;
                (key.trim() == "model name").then(|| value.trim().to_string())
            })
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cpu_model_is_named() {
        let m = super::cpu_model();
        assert!(!m.is_empty() && m.trim() == m, "{m:?}");
        if cfg!(target_os = "linux") && cfg!(target_arch = "x86_64") {
            // x86 Linux names its CPUs ("AMD EPYC ...", "Intel(R) Xeon(R) ...").
            assert_ne!(m, "x86_64");
        }
    }
}
