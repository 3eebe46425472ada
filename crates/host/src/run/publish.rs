//! A run's outputs as a transaction: everything is written into a staging folder beside
//! `out` and swapped in with one rename, so `out` holds one complete run at every moment (the
//! previous one until the new one is complete). A lock file beside `out`, holding the run's
//! pid, refuses a second run into the same folder while the first one goes.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The file that marks a folder as a complete srlens run (with the srlens version).
pub const RUN_MARKER: &str = ".srlens-run";

/// The staging folder of a run that holds the lock on its `out` folder.
pub struct Staging {
    out: PathBuf,
    staging: PathBuf,
    published: bool,
    /// Held (locked) until the run ends; the kernel releases it if the process dies.
    _lock: File,
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The folder above `out` and `out`'s own name; refuses an `out` such as `.` or `/`.
fn split(out: &Path) -> Result<(PathBuf, String)> {
    let absolute = std::path::absolute(out).map_err(|e| io_err(out, e))?;
    let name = match absolute.components().next_back() {
        Some(std::path::Component::Normal(n)) => n.to_string_lossy().into_owned(),
        _ => {
            return Err(Error::Input(format!(
                "the output folder `{}` names no folder of its own (srlens replaces its output \
                 folder as a whole); choose a folder for the run, e.g. `out = \"out\"`",
                out.display()
            )))
        }
    };
    let parent = absolute
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    Ok((parent, name))
}

impl Staging {
    /// Takes the lock on `out`, checks that `out` is absent, empty or an earlier run's, removes
    /// what interrupted runs left beside it and creates an empty staging folder.
    pub fn begin(out: &Path) -> Result<Self> {
        // A link to a folder (a scratch space) is followed: the run replaces the folder.
        let followed;
        let out = match std::fs::symlink_metadata(out) {
            Ok(m) if m.file_type().is_symlink() && out.is_dir() => {
                followed = std::fs::canonicalize(out).map_err(|e| io_err(out, e))?;
                followed.as_path()
            }
            _ => out,
        };
        let (parent, name) = split(out)?;
        std::fs::create_dir_all(&parent).map_err(|e| io_err(&parent, e))?;
        let lock_path = parent.join(format!(".{name}.srlens-lock"));
        let lock = take_lock(&lock_path, out)?;
        check_replaceable(out)?;
        remove_leftovers(&parent, &name);
        let staging = parent.join(format!(".{name}.staging-{}", std::process::id()));
        std::fs::create_dir(&staging).map_err(|e| io_err(&staging, e))?;
        Ok(Staging {
            out: out.to_path_buf(),
            staging,
            published: false,
            _lock: lock,
        })
    }

    /// The folder the run writes into.
    pub fn dir(&self) -> &Path {
        &self.staging
    }

    /// Marks the staged run complete and swaps it in for `out`; the previous run is removed.
    pub fn publish(mut self) -> Result<()> {
        let marker = self.staging.join(RUN_MARKER);
        std::fs::write(&marker, format!("srlens {}\n", env!("CARGO_PKG_VERSION")))
            .map_err(|e| io_err(&marker, e))?;
        if self.out.exists() {
            swap(&self.staging, &self.out).map_err(|e| io_err(&self.out, e))?;
            // The staging path now holds the previous run.
            let _ = std::fs::remove_dir_all(&self.staging);
        } else {
            std::fs::rename(&self.staging, &self.out).map_err(|e| io_err(&self.out, e))?;
        }
        self.published = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

/// Opens and locks `path`, writing this process's pid into it; a lock held by another run is
/// an error naming that run's pid.
fn take_lock(path: &Path, out: &Path) -> Result<File> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| io_err(path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => "another srlens run".to_string(),
                pid => format!("another srlens run (pid {pid})"),
            };
            return Err(Error::Input(format!(
                "{holder} is writing into {}; wait for it to finish, or give this run another \
                 folder (`out` in the config, or --out). The lock is {}",
                out.display(),
                path.display()
            )));
        }
        Err(TryLockError::Error(e)) => return Err(io_err(path, e)),
    }
    let pid = std::process::id().to_string();
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(pid.as_bytes()))
        .map_err(|e| io_err(path, e))?;
    Ok(file)
}

/// `out` may be replaced: it does not exist, or is an empty folder, or holds an earlier run.
fn check_replaceable(out: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(out, e)),
    };
    if !meta.is_dir() {
        return Err(Error::Input(format!(
            "the output folder {} exists and is not a folder; choose another `out`",
            out.display()
        )));
    }
    let empty = std::fs::read_dir(out)
        .map_err(|e| io_err(out, e))?
        .next()
        .is_none();
    // srlens 0.1 wrote no marker; its summary.json says the folder is a run's.
    if empty || out.join(RUN_MARKER).is_file() || out.join("summary.json").is_file() {
        return Ok(());
    }
    Err(Error::Input(format!(
        "the output folder {} holds files that are not an srlens run's (no {RUN_MARKER} or \
         summary.json); srlens replaces its output folder as a whole, so choose a new or empty \
         folder (`out` in the config, or --out)",
        out.display()
    )))
}

/// Removes the staging folders of interrupted runs into the same `out` (the lock is ours, so
/// none of them is still being written).
fn remove_leftovers(parent: &Path, name: &str) {
    let prefix = format!(".{name}.staging-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Exchanges two folders in one step where the system can (Linux `renameat2`), else by two
/// renames (the previous run is moved aside, the new one in, the previous one restored if
/// the second rename fails).
fn swap(staging: &Path, out: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        match renameat_with(CWD, staging, CWD, out, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(()),
            // Filesystems without RENAME_EXCHANGE fall back to two renames.
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let aside = staging.with_extension("previous");
    std::fs::rename(out, &aside)?;
    if let Err(e) = std::fs::rename(staging, out) {
        let _ = std::fs::rename(&aside, out);
        return Err(e);
    }
    std::fs::rename(&aside, staging)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_run_replaces_the_previous_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let first = Staging::begin(&out).unwrap();
        std::fs::write(first.dir().join("a.txt"), "first").unwrap();
        first.publish().unwrap();
        assert_eq!(std::fs::read_to_string(out.join("a.txt")).unwrap(), "first");

        let second = Staging::begin(&out).unwrap();
        std::fs::write(second.dir().join("b.txt"), "second").unwrap();
        // Until it is published, the first run is untouched.
        assert!(out.join("a.txt").is_file() && !out.join("b.txt").exists());
        second.publish().unwrap();
        assert!(!out.join("a.txt").exists());
        assert_eq!(
            std::fs::read_to_string(out.join("b.txt")).unwrap(),
            "second"
        );
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| n == "out" || n == ".out.srlens-lock"),
            "{names:?}"
        );
    }

    #[test]
    fn an_unpublished_run_leaves_nothing_and_the_previous_run_stays() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let first = Staging::begin(&out).unwrap();
        std::fs::write(first.dir().join("a.txt"), "first").unwrap();
        first.publish().unwrap();
        let failed = Staging::begin(&out).unwrap();
        let staged = failed.dir().to_path_buf();
        std::fs::write(staged.join("half.txt"), "half").unwrap();
        drop(failed);
        assert!(!staged.exists());
        assert_eq!(std::fs::read_to_string(out.join("a.txt")).unwrap(), "first");
    }

    #[test]
    fn a_second_run_into_the_same_folder_is_refused_with_the_holders_pid() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let _held = Staging::begin(&out).unwrap();
        let e = Staging::begin(&out).err().expect("refused").to_string();
        assert!(
            e.contains(&format!("pid {}", std::process::id())) && e.contains("--out"),
            "{e}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_a_folder_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = dir.path().join("scratch");
        std::fs::create_dir(&scratch).unwrap();
        let link = dir.path().join("out");
        std::os::unix::fs::symlink(&scratch, &link).unwrap();
        let run = Staging::begin(&link).unwrap();
        std::fs::write(run.dir().join("a.txt"), "a").unwrap();
        run.publish().unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(link.join("a.txt")).unwrap(), "a");
    }

    #[test]
    fn a_folder_of_other_files_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let mine = dir.path().join("mine");
        std::fs::create_dir(&mine).unwrap();
        std::fs::write(mine.join("thesis.tex"), "mine").unwrap();
        let e = Staging::begin(&mine).err().expect("refused").to_string();
        assert!(e.contains("not an srlens run's"), "{e}");
        assert!(mine.join("thesis.tex").is_file());
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let e = Staging::begin(&file).err().expect("refused").to_string();
        assert!(e.contains("is not a folder"), "{e}");
        let e = Staging::begin(Path::new("/"))
            .err()
            .expect("refused")
            .to_string();
        assert!(e.contains("names no folder of its own"), "{e}");
    }
}
