//! The PDF machinery under the invoice, the receipt and the « fiche sanitaire de liaison »
//! (feature `pdf`): the two embedded faces (DejaVu Sans cut to Latin-1, `fonts/`), a layout of
//! drawing operations per page (text, rules, wrapped paragraphs, page breaks with « (suite) »),
//! and drawing it with krilla, each page with its footer « page i/n ».

use krilla::Document;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::MetadataProvider;
use skrifa::raw::TableProvider;

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans-latin.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold-latin.ttf");

/// A4 in points.
const WIDTH: f32 = 595.28;
const HEIGHT: f32 = 841.89;
pub const LEFT: f32 = 48.0;
pub const RIGHT: f32 = WIDTH - 48.0;
/// Where a page's content stops (the footer is below).
const BOTTOM: f32 = HEIGHT - 64.0;
const GREY: u8 = 90;

#[derive(Debug, thiserror::Error)]
#[error("the PDF could not be written: {0}")]
pub struct PdfError(pub String);

/// One face: krilla's font, and skrifa's view of the same bytes to measure text.
struct Face {
    font: Font,
    data: &'static [u8],
}

impl Face {
    fn new(data: &'static [u8]) -> Result<Face, PdfError> {
        let font = Font::new(data.into(), 0).ok_or_else(|| PdfError("font".into()))?;
        Ok(Face { font, data })
    }

    /// The glyphs of `text`, one per character (French needs no shaping beyond the font's
    /// characters; a character the font lacks is drawn as its « .notdef » box).
    fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        let Ok(font) = skrifa::FontRef::new(self.data) else { return Vec::new() };
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(skrifa::instance::Size::unscaled(), skrifa::instance::LocationRef::default());
        let upem = f32::from(font.head().map_or(2048, |h| h.units_per_em()));
        text.char_indices()
            .map(|(i, c)| {
                let g = charmap.map(c).unwrap_or_default();
                KrillaGlyph {
                    glyph_id: GlyphId::new(g.to_u32()),
                    text_range: i..i + c.len_utf8(),
                    x_advance: metrics.advance_width(g).unwrap_or(0.0) / upem,
                    x_offset: 0.0,
                    y_offset: 0.0,
                    y_advance: 0.0,
                    location: None,
                }
            })
            .collect()
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        self.glyphs(text).iter().map(|g| g.x_advance * size).sum()
    }
}

#[derive(Clone, Copy, PartialEq)]
pub enum Weight {
    Regular,
    Bold,
}

enum Op {
    Text { x: f32, y: f32, size: f32, weight: Weight, grey: bool, text: String },
    Rule { y: f32, from: f32, to: f32 },
}

/// The layout: pages of operations and the current line's baseline.
pub struct Layout {
    regular: Face,
    bold: Face,
    pages: Vec<Vec<Op>>,
    pub y: f32,
    /// The share of each [`Layout::gap`] kept (1: as asked; less to fit a page).
    pub spacing: f32,
    /// Written at the top of each page after the first.
    continued: String,
}

impl Layout {
    /// An empty layout in the two faces; `continued` heads each page after the first.
    pub fn new(continued: String) -> Result<Layout, PdfError> {
        Ok(Layout {
            regular: Face::new(REGULAR)?,
            bold: Face::new(BOLD)?,
            pages: Vec::new(),
            y: 60.0,
            spacing: 1.0,
            continued,
        })
    }

    fn face(&self, w: Weight) -> &Face {
        match w {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }

    fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Starts a new page when `height` more points do not fit on this one.
    pub fn room(&mut self, height: f32) {
        if self.y + height > BOTTOM {
            self.pages.push(Vec::new());
            self.y = 56.0;
            let text = self.continued.clone();
            self.put(LEFT, 8.0, Weight::Regular, true, &text);
            self.y += 22.0;
        }
    }

    /// Text at `x` on the current line, with French typography ([`domain::fr::typeset`]).
    pub fn put(&mut self, x: f32, size: f32, weight: Weight, grey: bool, text: &str) {
        let y = self.y;
        self.page().push(Op::Text { x, y, size, weight, grey, text: domain::fr::typeset(text) });
    }

    pub fn right(&mut self, right: f32, size: f32, weight: Weight, text: &str) {
        let text = domain::fr::typeset(text);
        let x = right - self.face(weight).width(&text, size);
        self.put(x, size, weight, false, &text);
    }

    pub fn rule(&mut self, from: f32, to: f32) {
        let y = self.y;
        self.page().push(Op::Rule { y, from, to });
    }

    /// `text` cut into lines of at most `width` points, at spaces.
    pub fn wrap(&self, text: &str, width: f32, size: f32, weight: Weight) -> Vec<String> {
        let face = self.face(weight);
        let text = domain::fr::typeset(text);
        let mut lines = Vec::new();
        let mut current = String::new();
        for word in text.split(' ') {
            let candidate = if current.is_empty() { word.to_owned() } else { format!("{current} {word}") };
            if !current.is_empty() && face.width(&candidate, size) > width {
                lines.push(std::mem::take(&mut current));
                current = word.to_owned();
            } else {
                current = candidate;
            }
        }
        if !current.is_empty() {
            lines.push(current);
        }
        lines
    }

    /// A wrapped paragraph from `x` to `to`, the baseline moving down by `size × 1.35` a line.
    pub fn para(&mut self, x: f32, to: f32, size: f32, weight: Weight, grey: bool, text: &str) {
        for line in self.wrap(text, to - x, size, weight) {
            self.room(size * 1.35);
            self.put(x, size, weight, grey, &line);
            self.y += size * 1.35;
        }
    }

    /// Moves down `dy` points (a line's advance).
    pub fn down(&mut self, dy: f32) {
        self.y += dy;
    }

    /// A gap of `dy` points between blocks, times [`Layout::spacing`]: what tightens to fit.
    pub fn gap(&mut self, dy: f32) {
        self.y += dy * self.spacing;
    }

    /// The pages laid out so far.
    pub fn pages(&self) -> usize {
        self.pages.len()
    }
}

/// Draws the laid-out pages, each with its footer « <town> — <what> — page i/n »; `author` is
/// the document's author (the town's « régie » for an invoice).
pub fn draw(l: Layout, title: &str, what: &str, town: &str, author: &str) -> Result<Vec<u8>, PdfError> {
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(title.to_owned())
            .language("fr-FR".into())
            .creator("Espace Famille".into())
            .authors(vec![author.to_owned()]),
    );
    let count = l.pages.len();
    let settings = || PageSettings::from_wh(WIDTH, HEIGHT).ok_or_else(|| PdfError("page size".into()));
    for (n, ops) in l.pages.iter().enumerate() {
        let mut page = doc.start_page_with(settings()?);
        let mut surface = page.surface();
        let footer = format!("{town} — {what} — page {}/{}", n + 1, count);
        let footer =
            Op::Text { x: LEFT, y: HEIGHT - 36.0, size: 7.5, weight: Weight::Regular, grey: true, text: footer };
        for op in ops.iter().chain(std::iter::once(&footer)) {
            match op {
                Op::Text { x, y, size, weight, grey, text } => {
                    let face = l.face(*weight);
                    let shade = if *grey { GREY } else { 0 };
                    surface.set_fill(Some(Fill {
                        paint: krilla::color::luma::Color::new(shade).into(),
                        ..Fill::default()
                    }));
                    let glyphs = face.glyphs(text);
                    surface.draw_glyphs(Point::from_xy(*x, *y), &glyphs, face.font.clone(), text, *size, false);
                }
                Op::Rule { y, from, to } => {
                    let mut path = PathBuilder::new();
                    path.move_to(*from, *y);
                    path.line_to(*to, *y);
                    if let Some(path) = path.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            width: 0.6,
                            paint: krilla::color::luma::Color::new(150).into(),
                            ..Stroke::default()
                        }));
                        surface.draw_path(&path);
                        surface.set_stroke(None);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PdfError(format!("{e:?}")))
}
