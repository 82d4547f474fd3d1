//! Stored text made safe and short for a terminal, and writing to standard output.
//!
//! Stored text is the caller's evidence, so it may hold anything: control characters are
//! shown escaped and never reach the terminal as themselves.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::client::CliError;

/// The text with control characters (other than tab) shown as `\u{..}` escapes.
pub fn clean(text: &str) -> String {
    if !text.chars().any(|c| c.is_control() && c != '\t') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() && c != '\t' {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// Text on one line: line breaks and tabs as spaces, other control characters escaped.
pub fn one_line(text: &str) -> String {
    clean(&text.replace(['\n', '\r', '\t'], " "))
}

/// The first `max` characters of the text on one line, runs of white space folded, with `…`
/// when cut.
pub fn preview(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    tracehound_query::text::cut(&clean(&flat), max)
}

/// Runs `write` on a locked standard output and flushes it; a closed pipe (`| head`) is no
/// error.
pub fn to_stdout(write: impl FnOnce(&mut io::StdoutLock<'static>) -> Result<(), CliError>) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    match write(&mut out).and_then(|()| out.flush().map_err(CliError::from)) {
        Err(CliError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_stored_text_are_shown_escaped() {
        assert_eq!(clean("red \u{1b}[31mtext\u{7}"), "red \\u{1b}[31mtext\\u{7}");
    }

    #[test]
    fn one_line_turns_breaks_into_spaces_and_escapes_the_rest() {
        assert_eq!(one_line("a\nb\tc\u{1b}"), "a b c\\u{1b}");
    }

    #[test]
    fn a_preview_folds_white_space_and_marks_the_cut() {
        assert_eq!(preview("one  two\n three four", 9), "one two t…");
        assert_eq!(preview("short", 9), "short");
    }
}
