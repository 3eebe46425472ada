//! Panic containment at the plugin boundary.
//!
//! abi_stable aborts the process when a panic unwinds through an `extern "C"` function or a
//! `#[sabi_trait]` method, so every entry point of a plugin runs inside [`guard`].

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use srlens_core::{abi_stable::std_types::RResult, ErrorKind, PluginError, PluginResult};

thread_local! {
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
    static GUARD_DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Wraps this library's panic hook (each plugin has its own copy of std): inside [`guard`] a
/// panic is recorded (where it happened) instead of printing a message and a backtrace note,
/// since the host shows it as an error; elsewhere the previous hook runs as before.
fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARD_DEPTH.with(Cell::get) == 0 {
                return previous(info);
            }
            let at = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            PANIC_LOCATION.with(|p| *p.borrow_mut() = at);
        }))
    });
}

/// Runs `f`, returning its result, or a [`ErrorKind::Panic`] error if it panicked.
pub fn guard<T>(f: impl FnOnce() -> Result<T, PluginError>) -> PluginResult<T> {
    install_quiet_hook();
    GUARD_DEPTH.with(|d| d.set(d.get() + 1));
    let outcome = catch_unwind(AssertUnwindSafe(f));
    GUARD_DEPTH.with(|d| d.set(d.get() - 1));
    match outcome {
        Ok(Ok(value)) => RResult::ROk(value),
        Ok(Err(error)) => RResult::RErr(error),
        Err(payload) => {
            let at = PANIC_LOCATION.with(|p| p.borrow_mut().take());
            let message = panic_message(payload.as_ref());
            RResult::RErr(PluginError::new(
                ErrorKind::Panic,
                match at {
                    Some(at) => format!("panicked at {at}: {message}"),
                    None => format!("panicked: {message}"),
                },
            ))
        }
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
        let r: PluginResult<()> = guard(|| panic!("boom {}", 7));
        let e = r.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Panic);
        assert!(e.message.starts_with("panicked at "), "{}", e.message);
        assert!(e.message.ends_with(": boom 7"), "{}", e.message);
    }

    #[test]
    fn errors_pass_through() {
        let r: PluginResult<u8> = guard(|| Err(PluginError::new(ErrorKind::Backend, "x")));
        assert_eq!(r.unwrap_err().kind, ErrorKind::Backend);
        assert_eq!(guard(|| Ok(3u8)).unwrap(), 3);
    }
}
