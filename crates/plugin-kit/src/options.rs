//! Component options: JSON objects parsed into serde structs with clear errors.

use serde::de::DeserializeOwned;
use srlens_core::PluginError;

/// Parses `json` (a JSON object; empty means `{}`) into `T`. `what` names the component in
/// errors, e.g. "method `lam`". Use `#[serde(deny_unknown_fields)]` on `T` so that unknown
/// keys are reported with the accepted ones.
pub fn parse_options<T: DeserializeOwned>(what: &str, json: &str) -> Result<T, PluginError> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    let mut de = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let key = e.path().to_string();
        let text = e.into_inner().to_string();
        // serde_json appends " at line L column C" about the JSON the host generated, which
        // means nothing to the user.
        let text = match text.rfind(" at line ") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        // The path names the key whose value is wrong; for an unknown key it is the table.
        if let Some((unknown, accepted)) = unknown_field(&text) {
            // serde_path_to_error's path already ends with the unknown key.
            let full = match key.as_str() {
                "." => unknown,
                path if path == unknown || path.ends_with(&format!(".{unknown}")) => {
                    path.to_string()
                }
                table => format!("{table}.{unknown}"),
            };
            crate::invalid_config(format!("{what}: {text}"))
                .with_key(full)
                .with_accepted(accepted)
        } else if key == "." {
            crate::invalid_config(format!("{what}: {text}"))
        } else {
            crate::invalid_config(format!("{what}: `{key}`: {text}")).with_key(key)
        }
    })
}

/// The key and the accepted keys of serde's "unknown field `k`, expected `a` or `b`" (also
/// "expected one of `a`, `b`, `c`" and "there are no fields").
fn unknown_field(text: &str) -> Option<(String, Vec<String>)> {
    let rest = text.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let accepted = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((key.to_string(), accepted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Opts {
        #[serde(default)]
        steps: u32,
        #[serde(default)]
        sigma: f64,
    }

    #[test]
    fn unknown_keys_list_the_accepted_ones() {
        let e = parse_options::<Opts>("method `lam`", r#"{"stepz": 3}"#).unwrap_err();
        assert_eq!(
            e.message.as_str(),
            "method `lam`: unknown field `stepz`, expected `steps` or `sigma`"
        );
        assert_eq!(e.key.as_ref().map(|k| k.as_str()), Some("stepz").into());
        let accepted: Vec<&str> = e.accepted.iter().map(|a| a.as_str()).collect();
        assert_eq!(accepted, ["steps", "sigma"]);
    }

    #[test]
    fn wrong_values_name_their_key() {
        let e = parse_options::<Opts>("method `lam`", r#"{"steps": "many"}"#).unwrap_err();
        assert_eq!(
            e.message.as_str(),
            "method `lam`: `steps`: invalid type: string \"many\", expected u32"
        );
        assert_eq!(e.key.as_ref().map(|k| k.as_str()), Some("steps").into());
    }

    #[test]
    fn empty_means_defaults() {
        let o: Opts = parse_options("m", "").unwrap();
        assert_eq!(o.steps, 0);
    }
}
