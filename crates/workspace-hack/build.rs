//! Empty: the build-dependencies only unify the host's features (see Cargo.toml).
fn main() {}
