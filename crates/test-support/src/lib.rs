//! Helpers shared by the tests of the srlens workspace, written once instead of in each test
//! folder: seeded generators, `.npy` reading, relative errors, the lookup of built binaries,
//! a linear objective, a float64 reference blur and test pictures.
//!
//! Only for tests: depend on it as a `[dev-dependencies]` entry, never from a crate's code.

#![warn(missing_docs)]

pub mod binaries;
pub mod blur64;
pub mod compare;
pub mod npy;
pub mod objective;
pub mod pictures;
pub mod rng;
