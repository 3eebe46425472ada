//! The ranges that methods share: how many model evaluations one option may ask for.

use srlens_core::PluginError;

/// The most path steps or samples one map may take: far beyond any useful setting (LAM's
/// demo uses 50, SmoothGrad 25 to 50), and a run that still finishes.
pub const MAX_EVALUATIONS: usize = 100_000;

/// Checks that the count `key = n` is at most [`MAX_EVALUATIONS`]; `what` names the method.
pub fn check_at_most(what: &str, key: &str, n: usize) -> Result<(), PluginError> {
    if n <= MAX_EVALUATIONS {
        return Ok(());
    }
    Err(crate::invalid_config(format!(
        "{what}: `{key}` = {n} asks for more model evaluations than srlens runs for one map; \
         choose 1 to {MAX_EVALUATIONS}"
    ))
    .with_key(key))
}
