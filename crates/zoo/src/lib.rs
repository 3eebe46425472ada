//! The srlens model zoo.
