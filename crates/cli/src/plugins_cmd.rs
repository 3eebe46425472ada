//! `srlens plugins`: every plugin file found, what it provides, and why others were refused.

use std::fmt::Write;

use srlens_host::PluginHost;

/// The listing, as text.
pub fn render(host: &PluginHost, verbose: bool) -> String {
    let mut s = String::new();
    for d in &host.missing_dirs {
        let _ = writeln!(
            s,
            "missing {} (a plugin folder that does not exist)",
            d.display()
        );
    }
    if host.loaded.is_empty() && host.refused.is_empty() {
        s.push_str(
            "No plugin files found. Build them with `cargo build --workspace`, or point \
             `--plugin-dir` or SRLENS_PLUGIN_PATH at a folder that holds them.\n",
        );
        return s;
    }
    for p in &host.loaded {
        let _ = writeln!(s, "{} {} ({})", p.name, p.version, p.path.display());
        let mut comps: Vec<_> = p.components.iter().collect();
        comps.sort_by(|a, b| (a.kind(), a.name.as_str()).cmp(&(b.kind(), b.name.as_str())));
        for c in comps {
            let kind = c.kind().map_or("unknown", |k| k.as_str());
            let _ = writeln!(
                s,
                "  {:<8} {:<18} {}",
                kind,
                c.name.as_str(),
                c.description.as_str()
            );
        }
    }
    for r in &host.refused {
        let _ = writeln!(s, "refused {}", r.path.display());
        let _ = writeln!(s, "  {}", r.reason);
        if verbose {
            for line in r.details.lines() {
                let _ = writeln!(s, "    {line}");
            }
        }
    }
    s
}
