//! No code: this crate only enables features on shared dependencies (see its Cargo.toml).
