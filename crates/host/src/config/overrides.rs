//! `--set key=value` overrides, applied to the TOML text so that line numbers elsewhere stay.

use std::path::Path;

use toml_edit::{DocumentMut, Item, Value};

use crate::error::{Error, Result};

/// Applies each `key=value` (dotted keys; `method.N.key` for the N-th `[[method]]`, from 0;
/// values in TOML syntax, bare words taken as strings) to `text`.
pub fn apply(path: &Path, text: &str, overrides: &[String]) -> Result<String> {
    if overrides.is_empty() {
        return Ok(text.to_string());
    }
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        Error::Config(format!("{}: {}", path.display(), e.to_string().trim_end()))
    })?;
    for o in overrides {
        let (key, raw) = o.split_once('=').ok_or_else(|| {
            Error::Config(format!(
                "--set `{o}`: expected `key=value`, e.g. `--set window.x=120`"
            ))
        })?;
        let value = parse_value(raw.trim());
        let parts: Vec<&str> = key.trim().split('.').collect();
        set(doc.as_item_mut(), &parts, value)
            .map_err(|m| Error::Config(format!("--set `{o}`: {m}")))?;
    }
    Ok(doc.to_string())
}

/// The dotted key of an override (`model.threads` of `model.threads=8`).
fn key_of(o: &str) -> &str {
    o.split_once('=').map_or(o, |(k, _)| k).trim()
}

/// The override that set `key`, a key inside it or a table holding it (the last one given
/// wins, as when they are applied).
pub fn for_key<'a>(overrides: &'a [String], key: &str) -> Option<&'a str> {
    overrides.iter().rev().map(String::as_str).find(|o| {
        let k = key_of(o);
        k == key || key.starts_with(&format!("{k}.")) || k.starts_with(&format!("{key}."))
    })
}

/// The override that wrote the line of `text` (the config after overrides) holding byte
/// `offset`, when `original` (the file) has no such line: the last override with a part of its
/// key on that line, or else the last override.
pub fn for_span<'a>(
    original: &str,
    text: &str,
    overrides: &'a [String],
    offset: usize,
) -> Option<&'a str> {
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or("");
    if overrides.is_empty() || original.lines().any(|l| l == line) {
        return None;
    }
    let mut latest_first = overrides.iter().rev().map(String::as_str);
    latest_first
        .clone()
        .find(|o| key_of(o).split('.').any(|part| line.contains(part)))
        .or_else(|| latest_first.next())
}

fn parse_value(raw: &str) -> Value {
    raw.parse::<Value>().unwrap_or_else(|_| Value::from(raw))
}

fn set(item: &mut Item, parts: &[&str], value: Value) -> std::result::Result<(), String> {
    let (head, rest) = parts.split_first().ok_or("empty key")?;
    if head.is_empty() {
        return Err("empty key part".into());
    }
    if let Some(array) = item.as_array_of_tables_mut() {
        let i: usize = head
            .parse()
            .map_err(|_| format!("`{head}` is not an index"))?;
        let len = array.len();
        let table = array
            .get_mut(i)
            .ok_or_else(|| format!("index {i} is out of range: there are {len} tables"))?;
        return set_in_table(table, rest, value);
    }
    match item.as_table_like_mut() {
        Some(_) if rest.is_empty() => {
            item[*head] = Item::Value(value);
            Ok(())
        }
        Some(t) => {
            if t.get(head).is_none() {
                t.insert(head, Item::Table(toml_edit::Table::new()));
            }
            set(&mut item[*head], rest, value)
        }
        None => Err(format!(
            "cannot set `{head}` inside a value that is not a table"
        )),
    }
}

fn set_in_table(
    table: &mut toml_edit::Table,
    parts: &[&str],
    value: Value,
) -> std::result::Result<(), String> {
    let (head, rest) = parts
        .split_first()
        .ok_or("expected a key after the index")?;
    if rest.is_empty() {
        table[*head] = Item::Value(value);
        return Ok(());
    }
    if table.get(head).is_none() {
        table.insert(head, Item::Table(toml_edit::Table::new()));
    }
    set(&mut table[*head], rest, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_plain_nested_and_indexed_keys() {
        let text =
            "out = \"a\"\n[window]\nx = 1\n[[method]]\nname = \"lam\"\n[[method]]\nname = \"ig\"\n";
        let sets = vec![
            "window.x=120".to_string(),
            "method.1.steps=7".to_string(),
            "out=b".to_string(),
        ];
        let out = apply(Path::new("c.toml"), text, &sets).unwrap();
        let v: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(v["window"]["x"].as_integer(), Some(120));
        assert_eq!(v["method"][1]["steps"].as_integer(), Some(7));
        assert_eq!(v["out"].as_str(), Some("b"));
    }

    #[test]
    fn a_bad_index_is_explained() {
        let text = "[[method]]\nname = \"lam\"\n";
        let e = apply(Path::new("c.toml"), text, &["method.3.steps=1".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--set `method.3.steps=1`: index 3 is out of range: there are 1 tables"
        );
    }
}
