//! `batch_size`: how many path points go to the model in one call, `"auto"` (timed in the run)
//! or a number.

use std::fmt;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// The most points per call that `"auto"` tries (then its halves down to 1), before the memory
/// budget lowers it.
pub const AUTO_LARGEST: u32 = 8;

/// `batch_size = "auto" | N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BatchSize {
    /// `"auto"` (the default): the run times its own model calls at [`AUTO_LARGEST`] (or the
    /// largest that fits the memory budget), its halves and 1, and keeps the fastest per point.
    #[default]
    Auto,
    /// At most this many points per call, lowered to fit the memory budget.
    Fixed(u32),
}

impl BatchSize {
    /// The largest size a run may use before the memory budget.
    pub fn largest(self) -> u32 {
        match self {
            BatchSize::Auto => AUTO_LARGEST,
            BatchSize::Fixed(n) => n,
        }
    }

    /// Whether the run times its calls to choose the size.
    pub fn is_auto(self) -> bool {
        self == BatchSize::Auto
    }
}

impl Serialize for BatchSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            BatchSize::Auto => s.serialize_str("auto"),
            BatchSize::Fixed(n) => s.serialize_u32(*n),
        }
    }
}

impl<'de> Deserialize<'de> for BatchSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Visitor)
    }
}

struct Visitor;

impl de::Visitor<'_> for Visitor {
    type Value = BatchSize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"auto\" (the default: timed in the run) or a whole number of points >= 1")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<BatchSize, E> {
        u32::try_from(v)
            .map(BatchSize::Fixed)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<BatchSize, E> {
        u32::try_from(v)
            .map(BatchSize::Fixed)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<BatchSize, E> {
        match v {
            "auto" => Ok(BatchSize::Auto),
            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct T {
        batch_size: BatchSize,
    }

    #[test]
    fn auto_and_numbers_read_and_write_back() {
        for (text, want) in [
            ("batch_size = \"auto\"", BatchSize::Auto),
            ("batch_size = 3", BatchSize::Fixed(3)),
        ] {
            let t: T = toml::from_str(text).unwrap();
            assert_eq!(t.batch_size, want);
            assert_eq!(toml::to_string(&t).unwrap().trim(), text);
        }
    }

    #[test]
    fn anything_else_says_what_is_accepted() {
        for text in [
            "batch_size = \"fast\"",
            "batch_size = -2",
            "batch_size = 2.5",
        ] {
            let e = toml::from_str::<T>(text).unwrap_err().to_string();
            assert!(
                e.contains("\"auto\" (the default: timed in the run) or a whole number"),
                "{text}: {e}"
            );
        }
    }
}
