//! A family's data on demand (GDPR articles 15 and 20): everything the town holds about it, as
//! JSON, or as an archive a person can read (CSV files that French spreadsheets open, the JSON,
//! and the documents' files), kept a day in the bucket behind a short-lived link.

use crate::AppState;
use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::StatusCode;
use edge::files::{Files, Presigned, files_unavailable};
use edge::http::auth::{Caller, unknown_family};
use edge::http::csv::Export;
use edge::http::{self, Path, Problem};
use serde_json::Value;
use std::io::Write;

/// The most bytes of documents' files one archive carries (a Lambda builds it in memory); the
/// files beyond are listed, to download from « Mes demandes ».
const MAX_ARCHIVE_FILES_BYTES: u64 = 60 * 1024 * 1024;

async fn gather(state: &AppState, caller: &Caller, raw: &str) -> Result<(domain::FamilyRef, Value), Problem> {
    let family = caller.family(raw)?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let data = services::privacy::export(&state.auth.store, &town, &family, state.auth.clock.now())
        .await?
        .ok_or_else(unknown_family)?;
    Ok((family, data))
}

/// Everything about the family, as JSON (a guardian of the family, or staff).
pub(crate) async fn json(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, family)): Path<(String, String)>,
) -> Result<AxumJson<Value>, Problem> {
    Ok(AxumJson(gather(&state, &caller, &family).await?.1))
}

/// The same as an archive: `donnees.json`, one CSV per kind of data, and the documents' files;
/// answers the link to download it.
pub(crate) async fn archive(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, raw)): Path<(String, String)>,
) -> Result<(StatusCode, AxumJson<Presigned>), Problem> {
    let (family, data) = gather(&state, &caller, &raw).await?;
    let mut files = Vec::new();
    let mut budget = MAX_ARCHIVE_FILES_BYTES;
    for d in data["documents"].as_array().into_iter().flatten() {
        let (Some(id), Some(size)) = (d["id"].as_str(), d["size"].as_u64()) else { continue };
        if d["status"] == "uploading" || size > budget {
            continue;
        }
        let key = Files::document_key(&caller.town, &family, id);
        let bytes = state.files.get_bytes(&key).await.map_err(files_unavailable)?;
        budget -= size;
        let name = d["file_name"].as_str().unwrap_or("document");
        files.push((format!("documents/{id}-{name}"), bytes));
    }
    let zip = build(&data, &files)?;
    let id = edge::auth::secret::id();
    let key = Files::export_key(&caller.town, &family, &id[..16]);
    state.files.put_bytes(&key, zip, "application/zip").await.map_err(files_unavailable)?;
    let name = format!("espace-famille-{family}-{}.zip", state.auth.clock.now().format("%Y-%m-%d"));
    let link = state.files.presign_get_archive(&key, &name).await.map_err(files_unavailable)?;
    Ok((StatusCode::CREATED, AxumJson(link)))
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn euros(v: &Value) -> String {
    v.as_i64().map_or_else(String::new, |c| format!("{},{:02}", c / 100, (c % 100).abs()))
}

/// One CSV: its header, and a row per item of `items` taken by `cells`.
fn csv(header: &[&str], items: &Value, cells: impl Fn(&Value) -> Vec<String>) -> Result<Vec<u8>, Problem> {
    let mut e = Export::new(header)?;
    for i in items.as_array().into_iter().flatten() {
        e.row(&cells(i))?;
    }
    e.into_bytes()
}

fn build(data: &Value, files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, Problem> {
    let csvs = [
        (
            "enfants.csv",
            csv(
                &["Identifiant", "Prénom", "Nom", "Naissance", "École", "Classe", "Régime", "PAI"],
                &data["children"],
                |c| {
                    ["id", "first_name", "last_name", "birth_date", "school", "class", "diet", "pai"]
                        .iter()
                        .map(|k| s(&c[*k]))
                        .collect()
                },
            )?,
        ),
        (
            "comptes.csv",
            csv(&["Courriel", "Prénom", "Nom", "État", "Créé le", "Rappels vacances"], &data["accounts"], |a| {
                ["email", "first_name", "last_name", "status", "created_at", "holiday_reminders"]
                    .iter()
                    .map(|k| s(&a[*k]))
                    .collect()
            })?,
        ),
        (
            "reservations.csv",
            csv(
                &[
                    "Date",
                    "Enfant",
                    "Prestation",
                    "État",
                    "Prix (€)",
                    "Présence",
                    "Tardive",
                    "Annulée par la commune",
                    "Absence signalée",
                    "Modifications",
                ],
                &data["bookings"],
                |b| {
                    vec![
                        s(&b["date"]),
                        s(&b["child"]),
                        s(&b["unit"]),
                        s(&b["status"]),
                        euros(&b["price"]),
                        s(&b["attendance"]),
                        s(&b["late"]),
                        s(&b["cancelled_by_town"]),
                        s(&b["absence_report"]["reason"]),
                        b["history"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|h| format!("{} {} → {}", s(&h["at"]), s(&h["by"]), s(&h["to"])))
                            .collect::<Vec<_>>()
                            .join(" | "),
                    ]
                },
            )?,
        ),
        (
            "documents.csv",
            csv(
                &["Identifiant", "Type", "Enfant", "Fichier", "État", "Envoyé le", "Décidé le", "Motif"],
                &data["documents"],
                |d| {
                    ["id", "kind", "child", "file_name", "status", "sent_at", "decided_at", "reason"]
                        .iter()
                        .map(|k| s(&d[*k]))
                        .collect()
                },
            )?,
        ),
        (
            "factures.csv",
            csv(
                &["Numéro", "Mois", "Émise le", "Échéance", "Total (€)", "Payé (€)", "Avoirs (€)"],
                &data["invoices"],
                |i| {
                    vec![
                        s(&i["number"]),
                        s(&i["month"]),
                        s(&i["issued_on"]),
                        s(&i["due_on"]),
                        euros(&i["total"]),
                        euros(&i["paid"]),
                        euros(&i["credited"]),
                    ]
                },
            )?,
        ),
        (
            "paiements.csv",
            csv(&["Numéro", "Facture", "Moyen", "Montant (€)", "Reçu le"], &data["payments"], |p| {
                // The method in French (« Prélèvement SEPA »), never its code.
                let method = serde_json::from_value::<domain::payment::Method>(p["method"].clone())
                    .map_or_else(|_| s(&p["method"]), |m| m.french().to_owned());
                vec![s(&p["number"]), s(&p["invoice"]), method, euros(&p["amount"]), s(&p["received_on"])]
            })?,
        ),
        (
            "courriels.csv",
            csv(&["Créé le", "Envoyé le", "Destinataire", "Objet"], &data["emails"], |m| {
                vec![s(&m["created_at"]), s(&m["sent_at"]), s(&m["to"]), s(&m["content"]["subject"])]
            })?,
        ),
        (
            "journal.csv",
            csv(&["Date", "Par", "Action", "Objet"], &data["audit"], |e| {
                ["at", "by", "action", "target"].iter().map(|k| s(&e[*k])).collect()
            })?,
        ),
    ];
    let fail = |e: &dyn std::fmt::Display| Problem::internal(&e.to_string());
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let json = serde_json::to_vec_pretty(data).map_err(|e| fail(&e))?;
    let readme = "Les données que la commune détient sur votre famille, à la date de l'export.\n\
        donnees.json : tout, dans un format lisible par un programme (portabilité).\n\
        Les fichiers .csv s'ouvrent dans un tableur ; documents/ contient vos pièces justificatives.\n";
    let mut entries: Vec<(&str, &[u8])> = vec![("LISEZ-MOI.txt", readme.as_bytes()), ("donnees.json", &json)];
    entries.extend(csvs.iter().map(|(n, b)| (*n, b.as_slice())));
    entries.extend(files.iter().map(|(n, b)| (n.as_str(), b.as_slice())));
    for (name, bytes) in entries {
        zip.start_file(name, options).map_err(|e| fail(&e))?;
        zip.write_all(bytes).map_err(|e| fail(&e))?;
    }
    Ok(zip.finish().map_err(|e| fail(&e))?.into_inner())
}
