//! `srlens merge DIR...`: the folders of one study's shards as one study folder, with the
//! summary and report of the whole. Folders of different studies (another study hash in
//! their `study.json`) and overlapping ones (the same shard twice, a whole study beside a
//! shard, shards of different counts) are refused with the folders named.

use std::path::{Path, PathBuf};

use crate::config::{relative_to, tidy};
use crate::error::{io, Error, Result};
use crate::manifest::StudyManifest;
use crate::results::{self, ResultLine, Status, RESULTS_FILE};
use crate::shard::Shard;

/// How a merge went.
#[derive(Debug, Clone)]
pub struct MergeOutcome {
    /// The merged folder.
    pub out: PathBuf,
    /// Items in the merged study.
    pub total: usize,
    /// Failed items in it.
    pub failed: usize,
    /// What the user should know: shards missing, items without a result.
    pub warnings: Vec<String>,
}

/// What a folder covers: shards of a count, or the whole study.
fn coverage(m: &StudyManifest) -> Option<Vec<Shard>> {
    if !m.merged.is_empty() {
        return Some(m.merged.clone());
    }
    m.shard.map(|s| vec![s])
}

/// Merges the study folders `dirs` into `out` (see the module's notes).
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<MergeOutcome> {
    let absolute = |p: &Path| std::path::absolute(p).map(|a| tidy(&a)).map_err(io(p));
    let out = absolute(out)?;
    let mut folders: Vec<(PathBuf, StudyManifest)> = Vec::new();
    for d in dirs {
        let d = absolute(d)?;
        if d == out {
            return Err(Error::Merge(format!(
                "{} is both a folder to merge and the output: give another --out",
                d.display()
            )));
        }
        let m = StudyManifest::read(&d)?;
        folders.push((d, m));
    }
    let (first_dir, first) = folders
        .first()
        .ok_or_else(|| Error::Merge("no folders to merge".into()))?;
    for (d, m) in &folders[1..] {
        if m.study_hash != first.study_hash {
            return Err(Error::Merge(format!(
                "{} and {} hold different studies (study hash {} and {} in their study.json: \
                 other configs); merge only the shards of one study",
                first_dir.display(),
                d.display(),
                &first.study_hash[..12],
                &m.study_hash[..12]
            )));
        }
    }
    let mut covered: Vec<(Shard, &Path)> = Vec::new();
    let mut whole: Option<&Path> = None;
    for (d, m) in &folders {
        match coverage(m) {
            None => {
                let other = whole.or(covered.first().map(|c| c.1));
                if let Some(o) = other {
                    return Err(Error::Merge(format!(
                        "{} holds the whole study, which overlaps {}: merge shards only, each once",
                        d.display(),
                        o.display()
                    )));
                }
                whole = Some(d);
            }
            Some(shards) => {
                if let Some(w) = whole {
                    return Err(Error::Merge(format!(
                        "{} holds the whole study, which overlaps {}: merge shards only, each once",
                        w.display(),
                        d.display()
                    )));
                }
                for s in shards {
                    if let Some((c, o)) = covered.iter().find(|(c, _)| c.count != s.count) {
                        return Err(Error::Merge(format!(
                            "{} holds shard {s} and {} shard {c}: shards of different counts \
                             overlap; merge the shards of one --shards N",
                            d.display(),
                            o.display()
                        )));
                    }
                    if let Some((_, o)) = covered.iter().find(|(c, _)| *c == s) {
                        return Err(Error::Merge(format!(
                            "{} and {} both hold shard {s}: overlapping shards; give each shard once",
                            o.display(),
                            d.display()
                        )));
                    }
                    covered.push((s, d));
                }
            }
        }
    }
    let mut warnings = Vec::new();
    if let Some((s, _)) = covered.first() {
        let missing: Vec<String> = (1..=s.count)
            .filter(|i| !covered.iter().any(|(c, _)| c.index == *i))
            .map(|i| format!("{i}/{}", s.count))
            .collect();
        if !missing.is_empty() {
            warnings.push(format!(
                "shard(s) {} are missing: the merged summary covers part of the study",
                missing.join(", ")
            ));
        }
    }

    let mut seen = std::collections::HashMap::<String, PathBuf>::new();
    let mut items = Vec::new();
    let mut lines: Vec<ResultLine> = Vec::new();
    for (d, m) in &folders {
        for k in &m.items {
            if let Some(o) = seen.insert(k.clone(), d.clone()) {
                return Err(Error::Merge(format!(
                    "{} and {} both hold the item {}: overlapping shards",
                    o.display(),
                    d.display(),
                    &k[..12]
                )));
            }
            items.push(k.clone());
        }
        let read = results::read(&d.join(RESULTS_FILE), false)?;
        if read.torn.is_some() {
            warnings.push(format!(
                "the last line of {} is torn (its study was killed?): left out",
                d.join(RESULTS_FILE).display()
            ));
        }
        let keys: std::collections::HashSet<&str> = m.items.iter().map(String::as_str).collect();
        let latest = results::latest(&read.lines);
        let missing = keys.iter().filter(|k| !latest.contains_key(**k)).count();
        if missing > 0 {
            warnings.push(format!(
                "{missing} item(s) of {} have no result yet (still running, or killed: rerun that shard)",
                d.display()
            ));
        }
        let rebase = |p: &Option<String>| {
            p.as_ref()
                .map(|p| relative_to(&d.join(p), &out).display().to_string())
        };
        for l in latest
            .into_values()
            .filter(|l| keys.contains(l.key.as_str()))
        {
            let mut l = l.clone();
            l.dir = rebase(&l.dir);
            l.run_dir = rebase(&l.run_dir);
            lines.push(l);
        }
    }
    lines.sort_by_key(|l| l.order);
    let mut merged: Vec<Shard> = covered.iter().map(|c| c.0).collect();
    merged.sort_by_key(|s| s.index);
    let manifest = StudyManifest {
        shard: None,
        merged,
        items,
        ..first.clone()
    };
    std::fs::create_dir_all(&out).map_err(io(&out))?;
    let mut text = String::new();
    for l in &lines {
        text.push_str(&serde_json::to_string(l).expect("a result serialises"));
        text.push('\n');
    }
    let p = out.join(RESULTS_FILE);
    srlens_report::write_atomic(&p, text.as_bytes()).map_err(|e| Error::Io {
        path: p.clone(),
        message: e.to_string(),
    })?;
    manifest.write(&out)?;
    crate::summary::write_all(&out, &manifest, &lines)?;
    crate::report::write(&out, &manifest, &lines)?;
    Ok(MergeOutcome {
        out,
        total: lines.len(),
        failed: lines.iter().filter(|l| l.status == Status::Failed).count(),
        warnings,
    })
}
