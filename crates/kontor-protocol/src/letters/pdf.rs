//! The PDF rendering of a letter: its plain text set in Courier on A4 pages, the title in
//! Helvetica Bold.
//!
//! Only the PDF standard 14 fonts are used (ISO 32000-1, 9.6.2.2), so no font program is
//! embedded and every viewer and printer has them. Their `WinAnsiEncoding` covers the German
//! and French letters (umlauts, ß, accents, « »); a character outside it prints as `?`.
//! Monospaced text keeps the hash blocks aligned the way banks print them.

use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str, TextStr};

/// A4 in points.
const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
const TITLE_SIZE: f32 = 14.0;
const TEXT_SIZE: f32 = 9.5;
const LEADING: f32 = 12.0;
/// Courier advances 0.6 em per character: this many fit between the margins.
const MAX_COLUMNS: usize = ((PAGE_WIDTH - 2.0 * MARGIN) / (0.6 * TEXT_SIZE)) as usize;

const TITLE_FONT: Name<'static> = Name(b"F1");
const TEXT_FONT: Name<'static> = Name(b"F2");

/// Renders `text` (LF-separated lines) under `title`; the text's own first lines (the title
/// and its underline) are replaced by the typeset title.
pub(super) fn render(title: &str, text: &str) -> Vec<u8> {
    let body: Vec<String> = text
        .lines()
        .skip_while(|line| *line == title || line.chars().all(|c| c == '='))
        .flat_map(wrap)
        .collect();
    let first_page_lines = lines_per_page(MARGIN + TITLE_SIZE * 2.0);
    let other_page_lines = lines_per_page(MARGIN);
    let mut pages: Vec<&[String]> = Vec::new();
    let (first, mut rest) = body.split_at(body.len().min(first_page_lines));
    pages.push(first);
    while !rest.is_empty() {
        let (page, tail) = rest.split_at(rest.len().min(other_page_lines));
        pages.push(page);
        rest = tail;
    }

    let catalog_id = Ref::new(1);
    let page_tree_id = Ref::new(2);
    let title_font_id = Ref::new(3);
    let text_font_id = Ref::new(4);
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(5 + 2 * i as i32))
        .collect();

    let mut pdf = Pdf::new();
    pdf.document_info(Ref::new(5 + 2 * pages.len() as i32))
        .title(TextStr(title));
    pdf.catalog(catalog_id).pages(page_tree_id);
    pdf.pages(page_tree_id)
        .kids(page_ids.iter().copied())
        .count(pages.len() as i32);
    for (id, font) in [
        (title_font_id, b"Helvetica-Bold".as_slice()),
        (text_font_id, b"Courier".as_slice()),
    ] {
        pdf.type1_font(id)
            .base_font(Name(font))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    for (index, lines) in pages.iter().enumerate() {
        let page_id = page_ids[index];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
            .parent(page_tree_id)
            .contents(content_id);
        page.resources()
            .fonts()
            .pair(TITLE_FONT, title_font_id)
            .pair(TEXT_FONT, text_font_id);
        drop(page);

        let mut content = Content::new();
        content.begin_text();
        let mut top = PAGE_HEIGHT - MARGIN;
        if index == 0 {
            content.set_font(TITLE_FONT, TITLE_SIZE);
            content.next_line(MARGIN, top - TITLE_SIZE);
            content.show(Str(&win_ansi(title)));
            content.end_text();
            content.begin_text();
            top -= TITLE_SIZE * 2.0;
        }
        content.set_font(TEXT_FONT, TEXT_SIZE);
        content.set_leading(LEADING);
        content.next_line(MARGIN, top - LEADING);
        for line in lines.iter() {
            content.show(Str(&win_ansi(line)));
            content.next_line_using_leading();
        }
        content.end_text();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

fn lines_per_page(top_margin: f32) -> usize {
    ((PAGE_HEIGHT - top_margin - MARGIN) / LEADING) as usize
}

/// Splits a line that would run past the right margin; continuations keep its indentation.
fn wrap(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= MAX_COLUMNS {
        return vec![line.to_owned()];
    }
    let indent = chars.iter().take_while(|c| **c == ' ').count().min(24);
    let mut out = vec![chars[..MAX_COLUMNS].iter().collect()];
    for chunk in chars[MAX_COLUMNS..].chunks(MAX_COLUMNS - indent) {
        out.push(" ".repeat(indent) + &chunk.iter().collect::<String>());
    }
    out
}

/// Encodes text for a standard font with `WinAnsiEncoding` (ISO 32000-1, Annex D.2).
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            // Latin-1's printable upper half is WinAnsi's too.
            '\u{A0}'..='\u{FF}' => c as u32 as u8,
            '€' => 0x80,
            '…' => 0x85,
            'Œ' => 0x8C,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '–' => 0x96,
            '—' => 0x97,
            'œ' => 0x9C,
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn win_ansi_keeps_german_and_french_letters() {
        assert_eq!(
            win_ansi("Clé Öffentlich ß €"),
            b"Cl\xE9 \xD6ffentlich \xDF \x80"
        );
        assert_eq!(win_ansi("Ж"), b"?");
    }

    #[test]
    fn long_lines_wrap_with_their_indentation() {
        let line = format!("  {}", "A".repeat(MAX_COLUMNS + 10));
        let wrapped = wrap(&line);
        assert_eq!(wrapped.len(), 2);
        assert!(wrapped[1].starts_with("  A"));
        assert!(wrapped.iter().all(|l| l.chars().count() <= MAX_COLUMNS));
    }

    #[test]
    fn a_long_letter_gets_more_pages() {
        let text = "line\n".repeat(200);
        let pdf = render("Title", &text);
        assert!(pdf.starts_with(b"%PDF-"));
        // 58 lines under the title, then 60 a page: 200 lines take four pages.
        assert!(String::from_utf8_lossy(&pdf).contains("/Count 4"));
    }
}
