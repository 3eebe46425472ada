//! Rendering TOML errors with the file, line, column and the offending line.

use std::path::Path;

/// `file:line:column: message`, then the line and a caret, from a TOML/serde error.
pub fn render(path: &Path, text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end().to_string();
    match e.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            let src = text.lines().nth(line - 1).unwrap_or("");
            let width = (span.end.saturating_sub(span.start))
                .clamp(1, src.len().saturating_sub(col - 1).max(1));
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

/// The line and column of `key` in the `index`-th `[[array]]` table of `text`.
pub fn locate_array_table_key(
    text: &str,
    array: &str,
    index: usize,
    key: &str,
) -> Option<(usize, usize)> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let tables = doc.get_ref().get(array)?.get_ref().as_array()?;
    let table = tables.get(index)?.get_ref().as_table()?;
    let (k, _) = table.get_key_value(key)?;
    Some(line_col(text, k.span().start))
}
