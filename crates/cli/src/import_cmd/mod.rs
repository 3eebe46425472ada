//! `srlens import`: a PyTorch SR checkpoint (`.pth`, `.pt`, `.safetensors`) to the ONNX and
//! TorchScript files srlens runs, through spandrel 0.4.2 (the loader chaiNNer and ComfyUI use:
//! it recognises SwinIR, HAT, DAT, ESRGAN, RCAN... from the state dict alone) in a Python with
//! torch 2.13.
//!
//! The work is done by `import_checkpoint.py` (embedded here and written to a private
//! temporary folder for each run): load, export, trace, check both files against torch on an
//! input of another size, then rename them into place. Its failures are one line on stderr
//! with a prefix this module recognises, shown to the user as one `error:` sentence.
//!
//! The Python: `$SRLENS_PYTHON` when set, else `$VIRTUAL_ENV/bin/python`, else the first
//! `.venv/bin/python` found walking up from the current folder, then from the executable's
//! (`cargo xtask setup` makes the checkout's `.venv`, with spandrel).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The script the Python runs: `python SCRIPT CHECKPOINT OUTDIR`.
const SCRIPT: &str = include_str!("import_checkpoint.py");

/// The prefix of the script's one-line failure (exit code 2).
const ERROR_PREFIX: &str = "srlens-import-error: ";
/// The prefix of the script's line saying what the Python lacks (exit code 3).
const MISSING_PREFIX: &str = "srlens-import-missing: ";

/// How to get a Python that can import, the end of every error about the Python.
const HOW_TO: &str = "srlens import needs a Python with torch 2.13 and spandrel 0.4.2: run \
                      `cargo xtask setup` in an srlens checkout (it makes .venv), or set \
                      SRLENS_PYTHON to such a Python";

/// Imports `checkpoint` into `out` (default: the checkpoint's folder) and returns the
/// script's summary (architecture, scale, parameters, the two paths), or the error sentence.
pub fn import(checkpoint: &Path, out: Option<&Path>) -> Result<String, String> {
    if !checkpoint.is_file() {
        return Err(if checkpoint.exists() {
            format!("`{}` is not a file", checkpoint.display())
        } else {
            format!("`{}` does not exist", checkpoint.display())
        });
    }
    let out = match out {
        Some(dir) => dir.to_path_buf(),
        None => match checkpoint.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        },
    };
    if out.exists() && !out.is_dir() {
        return Err(format!("--out `{}` is not a folder", out.display()));
    }
    let python = find_python(
        std::env::var_os("SRLENS_PYTHON"),
        std::env::var_os("VIRTUAL_ENV"),
        std::env::current_dir().ok(),
        std::env::current_exe().ok(),
    )?;
    let script = ScriptDir::new()?;
    let output = Command::new(&python)
        .arg(&script.script)
        .arg(checkpoint)
        .arg(&out)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .map_err(|e| match &python {
            Python::Given(p) => format!(
                "SRLENS_PYTHON `{}` cannot be run ({e}); {HOW_TO}",
                p.display()
            ),
            Python::Found(p) => format!("`{}` cannot be run ({e}); {HOW_TO}", p.display()),
        })?;
    drop(script);
    interpret(&output)
}

/// The Python to run, and whether the user named it.
#[derive(Debug, PartialEq)]
enum Python {
    /// `$SRLENS_PYTHON`.
    Given(PathBuf),
    /// Found in a venv.
    Found(PathBuf),
}

impl std::ops::Deref for Python {
    type Target = Path;
    fn deref(&self) -> &Path {
        match self {
            Python::Given(p) | Python::Found(p) => p,
        }
    }
}

impl AsRef<std::ffi::OsStr> for Python {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.as_os_str()
    }
}

/// The Python from the environment: `srlens_python`, else `virtual_env/bin/python`, else a
/// `.venv/bin/python` in `cwd` or a folder above it, else one in the folder of `exe` or above.
fn find_python(
    srlens_python: Option<OsString>,
    virtual_env: Option<OsString>,
    cwd: Option<PathBuf>,
    exe: Option<PathBuf>,
) -> Result<Python, String> {
    if let Some(p) = srlens_python.filter(|p| !p.is_empty()) {
        return Ok(Python::Given(PathBuf::from(p)));
    }
    if let Some(venv) = virtual_env.filter(|p| !p.is_empty()) {
        let p = Path::new(&venv).join("bin/python");
        if p.is_file() {
            return Ok(Python::Found(p));
        }
    }
    let exe_dir = exe.as_deref().and_then(Path::parent).map(Path::to_path_buf);
    for start in [cwd, exe_dir].into_iter().flatten() {
        if let Some(p) = start
            .ancestors()
            .map(|d| d.join(".venv/bin/python"))
            .find(|p| p.is_file())
        {
            return Ok(Python::Found(p));
        }
    }
    Err(format!(
        "found no Python to import with (SRLENS_PYTHON and VIRTUAL_ENV are unset, and no \
         .venv is above the current folder or the srlens executable); {HOW_TO}"
    ))
}

/// The script's exit status and output as the command's result.
fn interpret(output: &Output) -> Result<String, String> {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = |prefix: &str| {
        stderr
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::to_string)
    };
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    if let Some(missing) = line(MISSING_PREFIX) {
        return Err(format!("{missing}; {HOW_TO}"));
    }
    if let Some(error) = line(ERROR_PREFIX) {
        return Err(error);
    }
    // Not the script's own message: Python itself failed (a crash, a signal, an interpreter
    // too old for the script). Its last line says the most.
    let last = stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no message");
    Err(format!(
        "the import script failed ({}): {last}",
        output.status
    ))
}

/// A private temporary folder holding the script, removed when dropped.
struct ScriptDir {
    dir: PathBuf,
    script: PathBuf,
}

impl ScriptDir {
    fn new() -> Result<Self, String> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mut last = None;
        for attempt in 0..16u32 {
            let dir = base.join(format!(
                "srlens-import-{}-{nanos:08x}-{attempt}",
                std::process::id()
            ));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {
                    let script = dir.join("import_checkpoint.py");
                    let made = ScriptDir { dir, script };
                    std::fs::write(&made.script, SCRIPT)
                        .map_err(|e| format!("{}: {e}", made.script.display()))?;
                    return Ok(made);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(format!("{}: {e}", dir.display())),
            }
        }
        Err(format!(
            "cannot make a temporary folder in {}: {}",
            base.display(),
            last.map_or_else(String::new, |e| e.to_string())
        ))
    }
}

impl Drop for ScriptDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn venv_in(dir: &Path) -> PathBuf {
        let bin = dir.join(".venv/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("python"), "").unwrap();
        bin.join("python")
    }

    #[test]
    fn srlens_python_wins_then_virtual_env_then_venvs_above() {
        let root = std::env::temp_dir().join(format!("srlens-find-python-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let (cwd, exe_dir, env) = (root.join("a/b"), root.join("x/y"), root.join("env"));
        std::fs::create_dir_all(&cwd).unwrap();
        std::fs::create_dir_all(&exe_dir).unwrap();
        let exe = Some(exe_dir.join("srlens"));
        let given = find_python(
            Some("/p/python".into()),
            Some(env.clone().into()),
            None,
            None,
        );
        assert_eq!(given, Ok(Python::Given("/p/python".into())));
        // VIRTUAL_ENV without a python is passed over.
        assert!(find_python(
            None,
            Some(env.clone().into()),
            Some(cwd.clone()),
            exe.clone()
        )
        .unwrap_err()
        .contains("found no Python"));
        let from_exe = venv_in(&root.join("x"));
        assert_eq!(
            find_python(None, None, Some(cwd.clone()), exe.clone()),
            Ok(Python::Found(from_exe))
        );
        let from_cwd = venv_in(&root.join("a"));
        assert_eq!(
            find_python(Some("".into()), None, Some(cwd.clone()), exe.clone()),
            Ok(Python::Found(from_cwd))
        );
        let from_env = venv_in(&env);
        assert_eq!(
            find_python(None, Some(env.join(".venv").into()), Some(cwd), exe),
            Ok(Python::Found(from_env))
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn errors_are_the_scripts_sentence() {
        use std::os::unix::process::ExitStatusExt;
        let out = |code: i32, stderr: &str| Output {
            status: std::process::ExitStatus::from_raw(code << 8),
            stdout: b"done\n".to_vec(),
            stderr: stderr.as_bytes().to_vec(),
        };
        assert_eq!(interpret(&out(0, "warning\n")), Ok("done\n".to_string()));
        assert_eq!(
            interpret(&out(2, "noise\nsrlens-import-error: `a.pth` is bad\n")),
            Err("`a.pth` is bad".to_string())
        );
        let missing = interpret(&out(
            3,
            "srlens-import-missing: py cannot import torch (x)\n",
        ));
        assert!(
            missing
                .as_ref()
                .unwrap_err()
                .starts_with("py cannot import torch (x); srlens import needs"),
            "{missing:?}"
        );
        let crash = interpret(&out(1, "Traceback...\nSyntaxError: bad\n\n")).unwrap_err();
        assert_eq!(
            crash,
            "the import script failed (exit status: 1): SyntaxError: bad"
        );
    }
}
