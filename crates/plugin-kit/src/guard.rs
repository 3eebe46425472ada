//! Panic containment at the plugin boundary.
//!
//! abi_stable aborts the process when a panic unwinds through an `extern "C"` function or a
//! `#[sabi_trait]` method, so every entry point of a plugin runs inside [`guard`].

use std::panic::{catch_unwind, AssertUnwindSafe};

use srlens_core::{
    abi_stable::std_types::RResult, ErrorKind, PluginError, PluginResult,
};

/// Runs `f`, returning its result, or a [`ErrorKind::Panic`] error if it panicked.
pub fn guard<T>(f: impl FnOnce() -> Result<T, PluginError>) -> PluginResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => RResult::ROk(value),
        Ok(Err(error)) => RResult::RErr(error),
        Err(payload) => RResult::RErr(PluginError::new(
            ErrorKind::Panic,
            format!("panicked: {}", panic_message(payload.as_ref())),
        )),
    }
}

/// Like [`guard`] for a closure that already returns an ABI result.
pub fn guard_result<T>(f: impl FnOnce() -> PluginResult<T>) -> PluginResult<T> {
    guard(|| f().into_result())
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r: PluginResult<()> = guard(|| panic!("boom {}", 7));
        std::panic::set_hook(prev);
        let e = r.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Panic);
        assert!(e.message.contains("boom 7"));
    }

    #[test]
    fn errors_pass_through() {
        let r: PluginResult<u8> = guard(|| Err(PluginError::new(ErrorKind::Backend, "x")));
        assert_eq!(r.unwrap_err().kind, ErrorKind::Backend);
        assert_eq!(guard(|| Ok(3u8)).unwrap(), 3);
    }
}
