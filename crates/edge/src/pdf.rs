//! The PDF machinery under the invoice, the receipt, the tax certificate and the « fiche
//! sanitaire de liaison » (feature `pdf`): the two embedded faces (DejaVu Sans cut to Latin-1,
//! `fonts/`), a layout of drawing operations per page (text, rules, wrapped paragraphs, page
//! breaks with « (suite) ») with the document's logical structure beside it (headings,
//! paragraphs, tables with their header cells, in reading order), and drawing it with krilla,
//! each page with its footer « page i/n », as a tagged PDF/A-2a that is also PDF/UA-1
//! (docs/pdf.md): krilla checks both standards when it writes the file and refuses to
//! write one that breaks them.

use krilla::configure::{Accessibility, Archival, ConfigurationBuilder};
use krilla::destination::XyzDestination;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::{DateTime, Metadata};
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::tagging::{
    Artifact, ArtifactType, ContentTag, Identifier, Node, SpanTag, TableHeaderScope, Tag as KTag, TagGroup, TagKind,
    TagTree,
};
use krilla::text::{Font, GlyphId, KrillaGlyph};
use krilla::{Document, SerializeSettings};
use skrifa::MetadataProvider;
use skrifa::raw::TableProvider;
use std::num::{NonZeroU16, NonZeroU32};

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

    /// `text` with each character the face lacks replaced by a near one it has, else « ? »:
    /// PDF/A forbids drawing the « .notdef » box (a name typed in another script would
    /// otherwise make the PDF fail to be written).
    fn printable(&self, text: &str) -> String {
        let Ok(font) = skrifa::FontRef::new(self.data) else { return text.to_owned() };
        let charmap = font.charmap();
        let has = |c: char| charmap.map(c).is_some_and(|g| g.to_u32() != 0);
        if text.chars().all(has) {
            return text.to_owned();
        }
        text.chars()
            .filter(|c| !matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{AD}'))
            .map(|c| {
                if has(c) {
                    return c;
                }
                if c.is_whitespace() || c.is_control() {
                    return ' ';
                }
                let near = match c {
                    '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2212}' => '-',
                    '\u{2018}' | '\u{201A}' | '\u{2032}' | '\u{02BC}' | '\u{00B4}' => '\u{2019}',
                    '\u{201C}' | '\u{201D}' | '\u{201E}' => '"',
                    '\u{2007}' | '\u{2008}' | '\u{2009}' | '\u{200A}' => ' ',
                    _ => '?',
                };
                if has(near) { near } else { '?' }
            })
            .collect()
    }
}

#[derive(Clone, Copy, PartialEq)]
pub enum Weight {
    Regular,
    Bold,
}

/// A structure element of the tagged PDF (what a screen reader announces).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tag {
    /// A heading of level 1 to 6.
    H(u16),
    /// A paragraph.
    P,
    /// A section (one child's sheet in a group's PDF).
    Sect,
    Table,
    /// A table's row.
    Tr,
    /// A header cell spanning `span` columns, for its column or for its row.
    Th(Scope, u32),
    /// A data cell spanning `span` columns.
    Td(u32),
}

/// What a header cell heads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scope {
    Column,
    Row,
}

impl Tag {
    /// Whether text put directly in it goes into a paragraph of its own.
    fn container(self) -> bool {
        matches!(self, Tag::Sect | Tag::Table | Tag::Tr)
    }

    fn kind(self, text: &str) -> TagKind {
        let span = |n: u32| NonZeroU32::new(n).filter(|n| n.get() > 1);
        match self {
            Tag::H(level) => {
                let level = NonZeroU16::new(level.clamp(1, 6)).unwrap_or(NonZeroU16::MIN);
                KTag::Hn(level, Some(text.to_owned())).into()
            }
            Tag::P => KTag::P.into(),
            Tag::Sect => KTag::Section.into(),
            Tag::Table => KTag::Table.into(),
            Tag::Tr => KTag::TR.into(),
            Tag::Th(scope, n) => {
                let scope = match scope {
                    Scope::Column => TableHeaderScope::Column,
                    Scope::Row => TableHeaderScope::Row,
                };
                KTag::TH(scope).with_col_span(span(n)).into()
            }
            Tag::Td(n) => KTag::TD.with_col_span(span(n)).into(),
        }
    }
}

/// A structure element being laid out: its tag, its children in reading order, its text (a
/// heading's title).
struct Group {
    tag: Tag,
    children: Vec<Child>,
    text: String,
}

enum Child {
    Group(Group),
    /// The text operation of that number.
    Text(usize),
}

/// A heading, for the document's outline (bookmarks): its level, title, page and height.
struct Bookmark {
    level: u16,
    title: String,
    page: usize,
    y: f32,
}

enum Op {
    /// Text; `id`: its number in the structure, none for an artifact (« (suite) »).
    Text {
        x: f32,
        y: f32,
        size: f32,
        weight: Weight,
        grey: bool,
        text: String,
        id: Option<usize>,
    },
    Rule {
        y: f32,
        from: f32,
        to: f32,
    },
}

/// The layout: pages of operations and the current line's baseline, and the structure.
pub struct Layout {
    regular: Face,
    bold: Face,
    pages: Vec<Vec<Op>>,
    /// The open structure elements, the document's root first.
    open: Vec<Group>,
    /// How many text operations are in the structure.
    texts: usize,
    bookmarks: Vec<Bookmark>,
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
            open: vec![Group { tag: Tag::Sect, children: Vec::new(), text: String::new() }],
            texts: 0,
            bookmarks: Vec::new(),
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
            let text = self.face(Weight::Regular).printable(&domain::fr::typeset(&self.continued));
            let y = self.y;
            self.page().push(Op::Text { x: LEFT, y, size: 8.0, weight: Weight::Regular, grey: true, text, id: None });
            self.y += 22.0;
        }
    }

    /// Opens a structure element: what is put until its [`Layout::end`] belongs to it.
    pub fn begin(&mut self, tag: Tag) {
        self.open.push(Group { tag, children: Vec::new(), text: String::new() });
    }

    /// Closes the element [`Layout::begin`] opened last (an empty one is dropped).
    pub fn end(&mut self) {
        if self.open.len() < 2 {
            return;
        }
        let Some(group) = self.open.pop() else { return };
        if let Tag::H(level) = group.tag {
            let first = group.children.iter().find_map(|c| match c {
                Child::Text(id) => Some(*id),
                Child::Group(_) => None,
            });
            let at = first.and_then(|id| {
                self.pages.iter().enumerate().find_map(|(n, ops)| {
                    ops.iter().find_map(|op| match op {
                        Op::Text { y, id: Some(i), size, .. } if *i == id => Some((n, y - size)),
                        _ => None,
                    })
                })
            });
            if let Some((page, y)) = at {
                self.bookmarks.push(Bookmark { level, title: group.text.clone(), page, y });
            }
        }
        if !group.children.is_empty() {
            self.current().children.push(Child::Group(group));
        }
    }

    /// `tag` around what `f` lays out.
    pub fn tagged(&mut self, tag: Tag, f: impl FnOnce(&mut Layout)) {
        self.begin(tag);
        f(self);
        self.end();
    }

    /// What `f` lays out goes into the `n`-th element of the open one (the first cell of a
    /// row, whose wrapped lines are laid out after the row's other cells).
    pub fn into_cell(&mut self, n: usize, f: impl FnOnce(&mut Layout)) {
        self.open.push(Group { tag: Tag::P, children: Vec::new(), text: String::new() });
        f(self);
        let Some(holder) = self.open.pop() else { return };
        let cell = self
            .current()
            .children
            .iter_mut()
            .filter_map(|c| match c {
                Child::Group(g) => Some(g),
                Child::Text(_) => None,
            })
            .nth(n);
        match cell {
            Some(cell) => cell.children.extend(holder.children),
            None => self.current().children.extend(holder.children),
        }
    }

    fn current(&mut self) -> &mut Group {
        let last = self.open.len() - 1;
        &mut self.open[last]
    }

    /// Text at `x` on the current line, with French typography ([`domain::fr::typeset`]), in
    /// the open structure element (in a paragraph of its own when that is a section, a table
    /// or a row).
    pub fn put(&mut self, x: f32, size: f32, weight: Weight, grey: bool, text: &str) {
        let own = self.current().tag.container();
        if own {
            self.begin(Tag::P);
        }
        let y = self.y;
        let text = self.face(weight).printable(&domain::fr::typeset(text));
        let id = self.texts;
        self.texts += 1;
        let group = self.current();
        if !group.text.is_empty() {
            group.text.push(' ');
        }
        group.text.push_str(&text);
        group.children.push(Child::Text(id));
        self.page().push(Op::Text { x, y, size, weight, grey, text, id: Some(id) });
        if own {
            self.end();
        }
    }

    pub fn right(&mut self, right: f32, size: f32, weight: Weight, text: &str) {
        let text = self.face(weight).printable(&domain::fr::typeset(text));
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
        let text = face.printable(&domain::fr::typeset(text));
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

    /// A wrapped paragraph from `x` to `to`, the baseline moving down by `size × 1.35` a line
    /// (one paragraph in the structure, or lines of the open element that is not a container).
    pub fn para(&mut self, x: f32, to: f32, size: f32, weight: Weight, grey: bool, text: &str) {
        let own = self.current().tag.container();
        if own {
            self.begin(Tag::P);
        }
        for line in self.wrap(text, to - x, size, weight) {
            self.room(size * 1.35);
            self.put(x, size, weight, grey, &line);
            self.y += size * 1.35;
        }
        if own {
            self.end();
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

/// What a drawn PDF says of itself: its title (shown by readers instead of the file name),
/// what the footer calls it, the town, its author (the town's « régie » for an invoice) and
/// the day it was made.
pub struct About<'a> {
    pub title: &'a str,
    pub what: &'a str,
    pub town: &'a str,
    pub author: &'a str,
    pub created: chrono::NaiveDate,
}

/// The standards every PDF is written to: PDF/A-2a (archival, tagged) and PDF/UA-1
/// (accessible), so PDF 1.7; krilla refuses to write a file that breaks them.
fn settings() -> Result<SerializeSettings, PdfError> {
    let configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A2_A)
        .with_accessibility_validator(Accessibility::UA1)
        .finish()
        .map_err(|e| PdfError(format!("{e:?}")))?;
    Ok(SerializeSettings { configuration, enable_tagging: true, ..SerializeSettings::default() })
}

/// The structure element `g` with its text replaced by the marked content drawn for it.
fn tag_group(g: &Group, ids: &mut [Option<Identifier>]) -> Option<TagGroup> {
    let children = nodes(&g.children, ids);
    (!children.is_empty()).then(|| TagGroup::with_children(g.tag.kind(&g.text), children))
}

/// The nodes of `children`, each marked content used once.
fn nodes(children: &[Child], ids: &mut [Option<Identifier>]) -> Vec<Node> {
    children
        .iter()
        .filter_map(|child| match child {
            Child::Text(id) => ids.get_mut(*id).and_then(Option::take).map(Node::Leaf),
            Child::Group(inner) => tag_group(inner, ids).map(Node::Group),
        })
        .collect()
}

/// The headings as nested bookmarks.
fn outline(bookmarks: &[Bookmark]) -> Outline {
    let mut outline = Outline::new();
    let mut stack: Vec<(u16, OutlineNode)> = Vec::new();
    let pop = |stack: &mut Vec<(u16, OutlineNode)>, outline: &mut Outline| {
        if let Some((_, node)) = stack.pop() {
            match stack.last_mut() {
                Some((_, parent)) => parent.push_child(node),
                None => outline.push_child(node),
            }
        }
    };
    for b in bookmarks {
        while stack.last().is_some_and(|(level, _)| *level >= b.level) {
            pop(&mut stack, &mut outline);
        }
        let node = OutlineNode::new(b.title.clone(), XyzDestination::new(b.page, Point::from_xy(0.0, b.y.max(0.0))));
        stack.push((b.level, node));
    }
    while !stack.is_empty() {
        pop(&mut stack, &mut outline);
    }
    outline
}

fn text(surface: &mut Surface, face: &Face, x: f32, y: f32, size: f32, grey: bool, text: &str) {
    let shade = if grey { GREY } else { 0 };
    surface.set_fill(Some(Fill { paint: krilla::color::luma::Color::new(shade).into(), ..Fill::default() }));
    let glyphs = face.glyphs(text);
    surface.draw_glyphs(Point::from_xy(x, y), &glyphs, face.font.clone(), text, size, false);
}

/// Draws the laid-out pages, each with its footer « <town> — <what> — page i/n », as a tagged
/// PDF/A-2a and PDF/UA-1 in French: the structure in reading order, the page furniture
/// (footers, « (suite) » lines, rules) as artifacts, the headings as bookmarks. Should krilla
/// find the file breaks a rule of either standard (nothing the portal lays out does, the tests
/// check it), the same tagged PDF is written without the claim and the rules broken are logged,
/// rather than no document at all.
pub fn draw(mut l: Layout, about: &About) -> Result<Vec<u8>, PdfError> {
    while l.open.len() > 1 {
        l.end();
    }
    match render(&l, about, settings()?) {
        Err(krilla::error::KrillaError::Validation(errors)) => {
            let rules: Vec<String> = errors.iter().map(|(e, _)| format!("{e:?}")).collect();
            tracing::warn!(
                title = about.title,
                ?rules,
                "PDF breaking PDF/A-2a or PDF/UA-1: written without claiming them"
            );
            let plain = SerializeSettings { enable_tagging: true, ..SerializeSettings::default() };
            render(&l, about, plain).map_err(|e| PdfError(format!("{e:?}")))
        }
        other => other.map_err(|e| PdfError(format!("{e:?}"))),
    }
}

fn render(l: &Layout, about: &About, settings: SerializeSettings) -> krilla::error::KrillaResult<Vec<u8>> {
    let mut doc = Document::new_with(settings);
    let d = about.created;
    let created = DateTime::new(u16::try_from(chrono::Datelike::year(&d)).unwrap_or(1970))
        .month(u8::try_from(chrono::Datelike::month(&d)).unwrap_or(1))
        .day(u8::try_from(chrono::Datelike::day(&d)).unwrap_or(1));
    doc.set_metadata(
        Metadata::new()
            .title(about.title.to_owned())
            .language("fr-FR".into())
            .creator("Espace Famille".into())
            .authors(vec![about.author.to_owned()])
            .creation_date(created),
    );
    let count = l.pages.len();
    let mut ids: Vec<Option<Identifier>> = vec![None; l.texts];
    for (n, ops) in l.pages.iter().enumerate() {
        let mut page = doc.start_page_with(PageSettings::from_wh(WIDTH, HEIGHT).unwrap_or_default());
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Text { x, y, size, weight, grey, text: t, id } => {
                    let tag = match id {
                        Some(_) => ContentTag::Span(SpanTag::empty()),
                        None => ContentTag::Artifact(Artifact::with_kind(ArtifactType::Header)),
                    };
                    let identifier = surface.start_tagged(tag);
                    text(&mut surface, l.face(*weight), *x, *y, *size, *grey, t);
                    surface.end_tagged();
                    if let Some(slot) = id.and_then(|i| ids.get_mut(i)) {
                        *slot = Some(identifier);
                    }
                }
                Op::Rule { y, from, to } => {
                    let mut path = PathBuilder::new();
                    path.move_to(*from, *y);
                    path.line_to(*to, *y);
                    if let Some(path) = path.finish() {
                        surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(ArtifactType::Layout)));
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            width: 0.6,
                            paint: krilla::color::luma::Color::new(150).into(),
                            ..Stroke::default()
                        }));
                        surface.draw_path(&path);
                        surface.set_stroke(None);
                        surface.end_tagged();
                    }
                }
            }
        }
        let footer = format!("{} — {} — page {}/{}", about.town, about.what, n + 1, count);
        let footer = l.face(Weight::Regular).printable(&footer);
        surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(ArtifactType::Footer)));
        text(&mut surface, l.face(Weight::Regular), LEFT, HEIGHT - 36.0, 7.5, true, &footer);
        surface.end_tagged();
        surface.finish();
        page.finish();
    }
    let mut tree = TagTree::new();
    if let Some(root) = l.open.first() {
        for node in nodes(&root.children, &mut ids) {
            tree.push(node);
        }
    }
    doc.set_tag_tree(tree);
    doc.set_outline(outline(&l.bookmarks));
    doc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn about(title: &str) -> About<'_> {
        let created = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        About { title, what: "essai", town: "Ville", author: "Régie", created }
    }

    fn claims_pdf_a_and_ua(pdf: &[u8]) -> bool {
        let text = String::from_utf8_lossy(pdf);
        text.contains("<pdfaid:part>2</pdfaid:part>")
            && text.contains("<pdfaid:conformance>A</pdfaid:conformance>")
            && text.contains("<pdfuaid:part>1</pdfuaid:part>")
    }

    #[test]
    fn a_document_with_headings_a_table_and_pages_is_written_as_pdf_a_2a_and_pdf_ua_1() {
        let mut l = Layout::new("Essai (suite)".into()).unwrap();
        l.tagged(Tag::H(1), |l| l.put(LEFT, 15.0, Weight::Bold, false, "ESSAI"));
        l.down(20.0);
        l.begin(Tag::Table);
        l.tagged(Tag::Tr, |l| {
            l.tagged(Tag::Th(Scope::Column, 1), |l| l.put(LEFT, 9.0, Weight::Bold, false, "Enfant"));
            l.tagged(Tag::Th(Scope::Column, 1), |l| l.right(RIGHT, 9.0, Weight::Bold, "Montant"));
        });
        for i in 0..80 {
            l.room(16.0);
            l.tagged(Tag::Tr, |l| {
                l.tagged(Tag::Td(1), |l| l.put(LEFT, 10.0, Weight::Regular, false, &format!("Enfant {i}")));
                l.tagged(Tag::Td(1), |l| l.right(RIGHT, 10.0, Weight::Regular, "1,00 €"));
                l.into_cell(0, |l| l.para(LEFT, 300.0, 8.0, Weight::Regular, true, "Dates : 1, 2 et 3/12"));
            });
            l.down(16.0);
        }
        l.end();
        l.rule(LEFT, RIGHT);
        l.para(LEFT, RIGHT, 9.0, Weight::Regular, false, "Un paragraphe qui se termine ici.");
        assert!(l.pages() > 1, "a break with « (suite) »");
        let pdf = draw(l, &about("Essai")).unwrap();
        assert!(claims_pdf_a_and_ua(&pdf), "krilla wrote it under both validators");
    }

    #[test]
    fn a_document_breaking_a_rule_is_still_written_without_the_claims() {
        let mut l = Layout::new("Essai (suite)".into()).unwrap();
        l.tagged(Tag::H(1), |l| l.put(LEFT, 15.0, Weight::Bold, false, "ESSAI"));
        // PDF/A-2 limits a string to 32,767 bytes.
        let title = "Titre ".repeat(6000);
        let pdf = draw(l, &about(&title)).expect("a PDF all the same");
        assert!(pdf.starts_with(b"%PDF-1.7"));
        assert!(!claims_pdf_a_and_ua(&pdf), "it does not claim what it is not");
    }

    #[test]
    fn a_character_the_fonts_lack_is_replaced_so_the_pdf_stays_pdf_a() {
        let mut l = Layout::new("Essai (suite)".into()).unwrap();
        let face = &l.regular;
        assert_eq!(face.printable("Zoé − l‘été"), "Zoé − l‘été", "all in the fonts");
        assert_eq!(face.printable("l\u{02BC}été\u{2009}!"), "l’été !");
        assert_eq!(face.printable("Жанна\u{FEFF}\tà 8 h"), "????? à 8 h");
        l.tagged(Tag::H(1), |l| l.put(LEFT, 15.0, Weight::Bold, false, "Жанна 😀"));
        l.para(LEFT, RIGHT, 9.0, Weight::Regular, false, "Allergie\u{200B} : 🥝 kiwi\nà éviter");
        let pdf = draw(l, &about("Жанна")).unwrap();
        assert!(claims_pdf_a_and_ua(&pdf), "no « .notdef » glyph: still PDF/A-2a and PDF/UA-1");
    }
}
