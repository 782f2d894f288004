//! The PES V2 « ORMC » file for Hélios: a month's invoices become titles, once. Creating a file
//! (town administrator) takes the month's invoices not sent yet, at most
//! [`domain::pes::MAX_PIECES`], and the reductions owed by credit notes on titles sent before
//! (this month's invoices and the twelve months before); in one transaction it writes the file's
//! record, marks each invoice with the file's id (conditioned on the invoice as read, so two
//! exports at once never send one twice: the loser reads again), takes the bordereau numbers
//! and audits it. Downloading writes the XML from the record ([`crate::pes_xml`]), with each
//! invoice's PDF attached. Rules in [`domain::pes`].

use crate::AppState;
use crate::mandates::mandate_of;
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use domain::billing::Invoice;
use domain::config::{HeliosSettings, Town};
use domain::pes::{self, Bordereau, Kind, PesFile, PesRefused, Piece, Source};
use domain::{Cents, Month};
use edge::http::auth::Admin;
use edge::http::{self, Path, Problem};
use serde::Serialize;
use store::{Item, Query, SkRange, Store, StoreError, WriteOp, keys, repo};

/// Attempts when an invoice moved meanwhile (another export, a payment, a credit note).
const TRIES: usize = 8;
/// How many months before the exported one are searched for reductions owed.
const REDUCTION_MONTHS: u32 = 12;

/// What staff read of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileView {
    pub id: String,
    pub month: Month,
    pub created_on: NaiveDate,
    pub by: String,
    pub titles: usize,
    pub reductions: usize,
    pub total: Cents,
    pub reduced: Cents,
}

impl FileView {
    pub fn of(f: &PesFile) -> FileView {
        let of = |k: Kind| f.bordereaux.iter().filter(move |b| b.kind == k);
        FileView {
            id: f.id.clone(),
            month: f.month,
            created_on: f.created_on,
            by: f.by.clone(),
            titles: of(Kind::Ormc).map(|b| b.pieces.len()).sum(),
            reductions: of(Kind::Reduction).map(|b| b.pieces.len()).sum(),
            total: of(Kind::Ormc).fold(Cents::ZERO, |t, b| t + b.total()),
            reduced: of(Kind::Reduction).fold(Cents::ZERO, |t, b| t + b.total()),
        }
    }
}

/// A file created, and the month's invoices left for the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Created {
    pub file: FileView,
    pub remaining: usize,
}

fn helios(town: &Town) -> Result<&HeliosSettings, PesRefused> {
    town.config().billing.helios.as_ref().ok_or(PesRefused::Unconfigured)
}

/// The files of a town, newest first.
pub async fn files_of(store: &Store, town: &domain::TownId) -> Result<Vec<PesFile>, StoreError> {
    let q = Query::table(keys::invoice_runs(town), SkRange::Prefix(keys::PES_FILE_PREFIX.into()));
    let mut files: Vec<PesFile> = Item::decode_listed(&store.query_all(&q).await?);
    files.sort_by_key(|f| std::cmp::Reverse(f.created_at));
    Ok(files)
}

/// The invoices that may owe a reduction: `month`'s and those of the months before it.
async fn reducible(store: &Store, town: &domain::TownId, month: Month) -> Result<Vec<Invoice>, StoreError> {
    let mut out = Vec::new();
    let mut m = month;
    for _ in 0..REDUCTION_MONTHS {
        m = m.previous();
        out.extend(crate::run::of_month(store, town, m).await?.into_iter().filter(|i| pes::to_reduce(i).is_some()));
    }
    Ok(out)
}

/// One attempt: the file's pieces and writes, from the invoices as read; `None` when nothing is
/// left to send.
async fn plan(
    store: &Store,
    town: &Town,
    month: Month,
    (now, by): (DateTime<Utc>, &str),
) -> Result<Option<(PesFile, Vec<WriteOp>, usize)>, Problem> {
    let h = helios(town)?;
    let today = town.today(now);
    let mut invoices = crate::run::of_month(store, town.id(), month).await?;
    invoices.sort_by(|a, b| a.number.cmp(&b.number));
    let mut titles: Vec<&Invoice> = invoices.iter().filter(|i| pes::to_send(i)).collect();
    let remaining = titles.len().saturating_sub(pes::MAX_PIECES);
    titles.truncate(pes::MAX_PIECES);
    let mut owing: Vec<Invoice> = invoices.iter().filter(|i| pes::to_reduce(i).is_some()).cloned().collect();
    owing.extend(reducible(store, town.id(), month).await?);
    owing.truncate(pes::MAX_PIECES - titles.len());
    if titles.is_empty() && owing.is_empty() {
        return Ok(None);
    }
    let exer = today.format("%Y").to_string().parse::<i32>().unwrap_or(month.year());
    let count = u64::from(!titles.is_empty()) + u64::from(!owing.is_empty());
    let (first, seq_op) = crate::run::take_numbers(store, keys::pes_sequence(town.id(), exer), count).await?;
    let first = u32::try_from(first).map_err(|_| StoreError::Conflict)?;
    let id = format!("PES-{exer}-{first:06}");
    let name = &town.config().name;
    let direct_debit = town.config().billing.direct_debit.as_ref();
    let mut ops = vec![seq_op];
    let mut bordereaux = Vec::new();
    if !titles.is_empty() {
        let mut pieces = Vec::new();
        for (n, invoice) in titles.iter().enumerate() {
            let idx = u32::try_from(n + 1).unwrap_or(u32::MAX);
            let family = repo::get_family(store, town.id(), &invoice.family).await?.ok_or(StoreError::Conflict)?;
            let mandate = match direct_debit {
                Some(d) => mandate_of(store, town.id(), &invoice.family)
                    .await?
                    .map(|m| (m, domain::debit::collection_date(invoice.issued_on, today, d.day))),
                None => None,
            };
            let src = Source { invoice, family: &family, mandate: mandate.as_ref().map(|(m, on)| (m, *on)) };
            let p = pes::title(&src, h, name, (exer, first, idx))?;
            let mut after = (*invoice).clone();
            after.titre = Some(pes::titre_of(&id, today, exer, first, &p));
            ops.push(crate::run::invoice_change(town.id(), invoice, &mut after)?);
            pieces.push(p);
        }
        bordereaux.push(Bordereau { kind: Kind::Ormc, id: first, pieces });
    }
    if !owing.is_empty() {
        let bord = first + u32::from(!bordereaux.is_empty());
        let mut pieces: Vec<Piece> = Vec::new();
        for (n, invoice) in owing.iter().enumerate() {
            let idx = u32::try_from(n + 1).unwrap_or(u32::MAX);
            let family = repo::get_family(store, town.id(), &invoice.family).await?.ok_or(StoreError::Conflict)?;
            let src = Source { invoice, family: &family, mandate: None };
            let Some(p) = pes::reduction(&src, h, (exer, bord, idx))? else { continue };
            let mut after = invoice.clone();
            after.titre = invoice.titre.as_ref().map(|t| pes::reduced(t, p.amount));
            ops.push(crate::run::invoice_change(town.id(), invoice, &mut after)?);
            pieces.push(p);
        }
        bordereaux.push(Bordereau { kind: Kind::Reduction, id: bord, pieces });
    }
    let file = PesFile { id, month, created_on: today, created_at: now, by: by.to_owned(), exer, bordereaux };
    ops.push(WriteOp::create(Item::from_value(keys::pes_file(town.id(), &file.id), &file)?));
    let entry = store::audit::Entry {
        at: now,
        by: by.to_owned(),
        action: "invoices.pes_export".into(),
        target: format!("pes/{}", file.id),
        before: None,
        after: serde_json::to_value(FileView::of(&file)).ok(),
    };
    ops.push(entry.record(town.id())?);
    Ok(Some((file, ops, remaining)))
}

/// Creates the month's next PES file (town administrator).
pub async fn create(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, month)): Path<(String, String)>,
) -> Result<(StatusCode, AxumJson<Created>), Problem> {
    let month = crate::problems::month(&month)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    helios(&town)?;
    let store = &state.auth.store;
    let now = state.auth.clock.now();
    for _ in 0..TRIES {
        let Some((file, ops, remaining)) = plan(store, &town, month, (now, caller.session.email.as_str())).await?
        else {
            return Err(PesRefused::Nothing.into());
        };
        match store.transact(ops).await {
            Ok(()) => return Ok((StatusCode::CREATED, AxumJson(Created { file: FileView::of(&file), remaining }))),
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// The town's PES files, newest first (town administrator).
pub async fn list(State(state): State<AppState>, Admin(caller): Admin) -> Result<AxumJson<Vec<FileView>>, Problem> {
    let files = files_of(&state.auth.store, &caller.town).await?;
    Ok(AxumJson(files.iter().map(FileView::of).collect()))
}

/// A PES file's XML, in ISO-8859-1, with its invoices' PDFs (town administrator).
pub async fn download(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let unknown = || Problem::not_found("unknown_pes_file", "Ce fichier PES est introuvable.");
    if id.len() > 40 {
        return Err(unknown());
    }
    let town = http::load_town(&state.towns, &caller.town).await?;
    let h = helios(&town)?;
    let store = &state.auth.store;
    let file: PesFile = store.get(&keys::pes_file(town.id(), &id)).await?.ok_or_else(unknown)?.to_value()?;
    let today = town.today(state.auth.clock.now());
    let mut pdfs = Vec::new();
    for p in file.bordereaux.iter().filter(|b| b.kind == Kind::Ormc).flat_map(|b| &b.pieces) {
        pdfs.push((p.attachment.clone(), invoice_pdf(&state, &town, p, file.month, today).await?));
    }
    let xml = crate::pes_xml::write(&file, h, &town.config().name, &pdfs).map_err(|e| Problem::internal(&e))?;
    // Payers' names, addresses and IBANs leave the portal: each download is in the journal.
    let entry = store::audit::Entry {
        at: state.auth.clock.now(),
        by: caller.session.email.as_str().to_owned(),
        action: "invoices.pes_download".into(),
        target: format!("pes/{}", file.id),
        before: None,
        after: None,
    };
    store.transact(vec![entry.record(town.id())?]).await?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/xml; charset=ISO-8859-1".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.xml\"", file.id)),
        ],
        xml,
    )
        .into_response())
}

/// The PDF of a piece's invoice, as its family downloads it.
async fn invoice_pdf(
    state: &AppState,
    town: &Town,
    p: &Piece,
    month: Month,
    today: NaiveDate,
) -> Result<Vec<u8>, Problem> {
    let store = &state.auth.store;
    let invoice = crate::corrections::invoice(store, town.id(), &p.family, month).await?;
    let household = repo::get_family(store, town.id(), &p.family).await?.ok_or(StoreError::Conflict)?;
    let credit_notes = crate::views::credit_notes_on(store, town.id(), &invoice).await?;
    let payments = crate::payments::payments_on(store, town.id(), &invoice).await?;
    let payments: Vec<_> = payments.iter().map(|x| domain::payment::PaymentView::of(x, today)).collect();
    let mandate = mandate_of(store, town.id(), &p.family).await?;
    let due = crate::mandates::due_line(town, mandate.as_ref(), &invoice, today);
    let sheet = crate::pdf::Sheet {
        town: town.config(),
        family: &household,
        invoice: &invoice,
        credit_notes: &credit_notes,
        payments: &payments,
        due: &due,
    };
    crate::pdf::invoice(&sheet).map_err(|e| Problem::internal(&e))
}
