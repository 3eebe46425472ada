//! Fetching from the package registries: npm packages and PyPI wheels.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{paths, run, Result};

/// `npm pack`s `package@version` into `.cache/npm/` and extracts it to
/// `.cache/npm/<short>/package/`; does nothing when already there.
pub fn npm_package(package: &str, version: &str, short: &str) -> Result<PathBuf> {
    let dir = paths::project_cache().join("npm");
    let dest = dir.join(short);
    let stamp = dest.join(format!(".{version}.ok"));
    if stamp.exists() {
        return Ok(dest.join("package"));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tgz = dir.join(format!(
        "{}-{version}.tgz",
        package.trim_start_matches('@').replace('/', "-")
    ));
    if !tgz.exists() {
        run(Command::new("npm").current_dir(&dir).args([
            "pack",
            "--silent",
            &format!("{package}@{version}"),
        ]))?;
    }
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    run(Command::new("tar")
        .arg("xzf")
        .arg(&tgz)
        .arg("-C")
        .arg(&dest))?;
    std::fs::write(&stamp, b"").map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(dest.join("package"))
}

/// The scikit-image wheel whose BSD-licensed sample photos the tests and the quickstart use.
const SKIMAGE: &str = "scikit-image==0.26.0";

/// The photos taken from the scikit-image wheel, with their licence.
pub const PHOTOS: [&str; 5] = [
    "chelsea.png",
    "astronaut.png",
    "coffee.png",
    "brick.png",
    "grass.png",
];

/// Downloads a wheel with pip into the user cache (kept across setups) and returns its path.
pub fn wheel(requirement: &str) -> Result<PathBuf> {
    let (name, version) = requirement.split_once("==").ok_or("a pinned requirement")?;
    let dir = paths::user_cache()
        .join("pypi")
        .join(format!("{name}-{version}"));
    if let Some(w) = find_wheel(&dir) {
        return Ok(w);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    run(Command::new(python())
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
        ])
        .arg(&dir)
        .arg(requirement))?;
    find_wheel(&dir).ok_or_else(|| format!("pip downloaded no wheel into {}", dir.display()))
}

fn find_wheel(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
}

/// The Python to use: `$PYTHON`, else `python3`.
pub fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Extracts the sample photos into `data/images/`.
pub fn photos() -> Result<()> {
    let dest = paths::root().join("data/images");
    if PHOTOS.iter().all(|p| dest.join(p).exists()) {
        return Ok(());
    }
    let wheel = wheel(SKIMAGE)?;
    std::fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nfor n in sys.argv[3:]:\n    open(sys.argv[2] + '/' + n, 'wb').write(z.read('skimage/data/' + n))\n";
    run(Command::new(python())
        .args(["-c", script])
        .arg(&wheel)
        .arg(&dest)
        .args(PHOTOS))?;
    std::fs::write(
        dest.join("SOURCE.txt"),
        format!(
            "These photos come from the {SKIMAGE} wheel on PyPI (skimage/data), BSD-3-Clause;\n\
             see scikit-image's data/README.txt for each image's own origin and licence.\n"
        ),
    )
    .map_err(|e| e.to_string())
}
