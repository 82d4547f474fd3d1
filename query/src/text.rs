//! Cutting and flattening stored text for the answers that quote it (previews, Markdown
//! cells, one-line errors).

/// The first `chars` characters of `text`, with `…` when cut.
pub fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The text on one line: every control character (line breaks included) as a space.
pub fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_counts_characters_not_bytes() {
        assert_eq!(cut("héllo", 2), "hé…");
        assert_eq!(cut("hé", 2), "hé");
    }

    #[test]
    fn one_line_replaces_every_control_character() {
        assert_eq!(one_line("a\nb\r\tc\u{1b}"), "a b  c ");
    }
}
