//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong when turning a map into figures, pictures or files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A buffer's length does not match the dimensions given with it.
    #[error("shape mismatch: {what} has {len} values, expected {expected} ({dims})")]
    Shape {
        /// Which buffer.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The length the dimensions imply.
        expected: usize,
        /// The dimensions, written out.
        dims: String,
    },
    /// An argument is out of its valid range (empty image, zero scale, bad alpha, ...).
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// The map contains NaN or infinite values.
    #[error("{what} contains a non-finite value (NaN or inf) at index {index}")]
    NonFinite {
        /// Which buffer.
        what: &'static str,
        /// The first offending index.
        index: usize,
    },
    /// Writing or reading a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// PNG encoding failed.
    #[error("PNG encoding failed: {0}")]
    Image(#[from] image::ImageError),
    /// A `.npy` file could not be parsed.
    #[error("not a float32 .npy file: {0}")]
    Npy(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Checks that `data.len() == dims.iter().product()` and that no dimension is zero.
pub(crate) fn check_len(what: &'static str, data: &[f32], dims: &[usize]) -> Result<()> {
    let expected: usize = dims.iter().product();
    if dims.contains(&0) {
        return Err(Error::Invalid(format!(
            "{what}: dimensions {dims:?} contain a zero"
        )));
    }
    if data.len() != expected {
        return Err(Error::Shape {
            what,
            len: data.len(),
            expected,
            dims: format!("{dims:?}"),
        });
    }
    Ok(())
}

/// Fails on the first non-finite value.
pub(crate) fn check_finite(what: &'static str, data: &[f32]) -> Result<()> {
    match data.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite { what, index }),
        None => Ok(()),
    }
}

/// Wraps an I/O error with its path.
pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}
