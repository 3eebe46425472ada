//! Debian's `chromium`, for the test that opens a study's report.html headless and checks
//! that every picture and plot decoded (crates/cli/tests/study_report_chromium.rs).
//! Installed with apt-get when `/usr/bin/chromium` is missing (as root, or through sudo).

use std::path::Path;
use std::process::Command;

use crate::{run, Result};

/// Where Debian's package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Installs Debian's `chromium` package unless it is there.
pub fn ensure() -> Result<()> {
    if Path::new(CHROMIUM).is_file() {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let apt = |args: &[&str]| {
        let mut c = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(&mut apt(&["update", "-qq"]))?;
    run(&mut apt(&[
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        "chromium",
    ]))?;
    if Path::new(CHROMIUM).is_file() {
        Ok(())
    } else {
        Err(format!(
            "apt-get installed chromium but {CHROMIUM} is missing; install Debian's chromium"
        ))
    }
}
