//! Shards: `--shard I/N` runs a deterministic 1/N of a study's runs, balanced by their
//! expected cost (greedy, longest first: each run goes to the shard with the least cost so
//! far). The index may come from a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`) or a Slurm
//! job array (`SLURM_ARRAY_TASK_ID`), both counted from 0, with `--shards N`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::grid::RunUnit;

/// Shard `index` of `count`, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// From 1 to `count`.
    pub index: u32,
    /// How many shards the study is cut into.
    pub count: u32,
}

/// The environment variables a shard index is read from, in order (each counted from 0).
pub const INDEX_VARIABLES: [&str; 2] = ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"];

impl Shard {
    /// Parses `I/N` (`1/3`: the first of three).
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = || {
            Error::Argument(format!(
                "--shard `{text}`: expected I/N with 1 <= I <= N, e.g. --shard 2/3"
            ))
        };
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The shard of `--shard` (wins), else of `--shards N` and the first index variable
    /// set (`lookup` reads the environment); none for an unsharded study.
    pub fn from_args(
        shard: Option<&str>,
        shards: Option<u32>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Shard>> {
        if let Some(s) = shard {
            return Shard::parse(s).map(Some);
        }
        let Some(count) = shards else {
            return Ok(None);
        };
        if count == 0 {
            return Err(Error::Argument("--shards must be at least 1".into()));
        }
        for var in INDEX_VARIABLES {
            if let Some(v) = lookup(var) {
                let i: u32 = v.trim().parse().map_err(|_| {
                    Error::Argument(format!("{var} = `{v}` is not a shard index (0, 1, 2, ...)"))
                })?;
                if i >= count {
                    return Err(Error::Argument(format!(
                        "{var} = {i}, but --shards {count} has indices 0 to {}",
                        count - 1
                    )));
                }
                return Ok(Some(Shard {
                    index: i + 1,
                    count,
                }));
            }
        }
        Err(Error::Argument(format!(
            "--shards {count} needs the shard's index, from 0, in {} (set by Kubernetes Indexed \
             Jobs and Slurm job arrays); or give --shard I/{count}",
            INDEX_VARIABLES.join(" or ")
        )))
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The shard (1 to `count`) of each unit: longest first (ties by order), each to the shard
/// with the least total cost so far (ties to the lowest index).
pub fn assign(units: &[RunUnit], count: u32) -> Vec<u32> {
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by(|&a, &b| units[b].cost.total_cmp(&units[a].cost).then(a.cmp(&b)));
    let mut load = vec![0.0f64; count as usize];
    let mut out = vec![0; units.len()];
    for u in order {
        let (best, _) =
            load.iter().enumerate().fold(
                (0, f64::INFINITY),
                |b, (i, &l)| if l < b.1 { (i, l) } else { b },
            );
        load[best] += units[u].cost;
        out[u] = best as u32 + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(cost: f64) -> RunUnit {
        RunUnit {
            model: 0,
            method: 0,
            image: 0,
            id: String::new(),
            items: vec![],
            cost,
        }
    }

    #[test]
    fn parsing_and_the_index_variables() {
        assert_eq!(Shard::parse("2/3").unwrap(), Shard { index: 2, count: 3 });
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        let env = |k: &str| (k == "SLURM_ARRAY_TASK_ID").then(|| "2".to_string());
        assert_eq!(
            Shard::from_args(None, Some(3), env).unwrap(),
            Some(Shard { index: 3, count: 3 })
        );
        let e = Shard::from_args(None, Some(2), env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("indices 0 to 1"), "{e}");
        let e = Shard::from_args(None, Some(2), |_| None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("JOB_COMPLETION_INDEX"), "{e}");
        assert_eq!(
            Shard::from_args(Some("1/2"), Some(3), env)
                .unwrap()
                .unwrap()
                .count,
            2
        );
        assert_eq!(Shard::from_args(None, None, env).unwrap(), None);
    }

    #[test]
    fn longest_first_balances_the_cost() {
        let units: Vec<RunUnit> = [8.0, 1.0, 5.0, 4.0, 3.0, 3.0].map(unit).to_vec();
        let a = assign(&units, 3);
        let mut load = [0.0; 3];
        for (u, s) in units.iter().zip(&a) {
            load[*s as usize - 1] += u.cost;
        }
        assert_eq!(a, assign(&units, 3), "deterministic");
        assert!(load.iter().all(|&l| (7.0..=9.0).contains(&l)), "{load:?}");
    }
}
