//! Rendering TOML errors with the file, line, column and the offending line.

use std::ops::Range;
use std::path::Path;

/// `file:line:column: message`, then the line and a caret, from a TOML/serde error.
pub fn render(path: &Path, text: &str, e: &toml::de::Error) -> String {
    render_at(path, text, e.span(), e.message().trim_end())
}

/// The one renderer of config errors: `file:line:column: message`, then the line and a
/// caret under `span` (byte offsets in `text`); `file: message` without a span.
pub fn render_at(path: &Path, text: &str, span: Option<Range<usize>>, message: &str) -> String {
    match span {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            let src = text.lines().nth(line - 1).unwrap_or("");
            // The caret stays on the line: a span reaching further (a table) is cut there.
            let width = (span.end.saturating_sub(span.start))
                .clamp(1, src.chars().count().saturating_sub(col - 1).max(1));
            format!(
                "{}:{line}:{col}: {message}\n  |\n{line:>3} | {src}\n  | {}{}",
                path.display(),
                " ".repeat(col - 1),
                "^".repeat(width)
            )
        }
        None => format!("{}: {message}", path.display()),
    }
}

/// The span of the dotted `key` in `text` (`window.size`, `method.2.label`; numbers index
/// `[[arrays]]`), or of its closest ancestor that is written there (a key left to its
/// default is located at its table).
pub fn locate(text: &str, key: &str) -> Option<Range<usize>> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut best = None;
    let mut table = doc.get_ref();
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        let Some((k, mut value)) = table.get_key_value(part) else {
            break;
        };
        best = Some(k.span());
        if let Some(index) = parts.peek().and_then(|p| p.parse::<usize>().ok()) {
            parts.next();
            match value.get_ref().as_array().and_then(|a| a.get(index)) {
                Some(item) => value = item,
                None => break,
            }
            best = Some(value.span());
        }
        if parts.peek().is_none() {
            break;
        }
        match value.get_ref().as_table() {
            Some(t) => table = t,
            None => break,
        }
    }
    best
}

/// The 1-based line and column (in characters) of byte `offset`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}
