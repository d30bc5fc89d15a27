//! Escaping of untrusted text (scenario names, check messages, properties) for the formats the
//! crate writes. Every value from a result passes through here before it reaches a page.

/// Escapes text for HTML and XML content and attribute values.
///
/// Control characters XML 1.0 forbids (everything below U+0020 except tab, newline and carriage
/// return) become U+FFFD, so that a stray byte in a broker's message cannot make a JUnit file
/// unreadable.
pub(crate) fn markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push('\u{fffd}');
            }
            c => out.push(c),
        }
    }
    out
}

/// Makes text safe in Markdown prose and table cells: a `|` would start a new cell, a line
/// break would end the row, and `<…>` would be taken for HTML and dropped by the renderer.
pub(crate) fn markdown_cell(text: &str) -> String {
    markdown_inline(text.trim())
}

/// [`markdown_cell`] without trimming, for a piece of a line whose spaces around it count.
pub(crate) fn markdown_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => {}
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out
}

/// Makes text safe as an inline code span, also inside a table: code shows `<` as it is, but a
/// `|` still ends the cell and backticks would close the span early.
pub(crate) fn markdown_code(text: &str) -> String {
    let text = text.trim().replace(['\r', '\n'], " ").replace('|', "\\|");
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_escapes_every_special_character() {
        assert_eq!(
            markup(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn markup_replaces_control_characters_but_keeps_line_breaks() {
        assert_eq!(markup("a\u{0}b\nc\td\u{1b}"), "a\u{fffd}b\nc\td\u{fffd}");
    }

    #[test]
    fn markdown_cell_keeps_the_row_intact() {
        assert_eq!(markdown_cell(" a|b\nc<d> "), "a\\|b<br>c&lt;d&gt;");
    }

    #[test]
    fn markdown_code_survives_backticks() {
        assert_eq!(markdown_code("a=b"), "`a=b`");
        assert_eq!(markdown_code("a`b"), "`` a`b ``");
        assert_eq!(markdown_code("<a|b>"), "`<a\\|b>`");
    }
}
