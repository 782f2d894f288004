//! A local twin of API Particulier's quotient familial (`GET /v3/dss/quotient_familial/identite`),
//! answering as its documentation and staging cases do: a bearer token checked (401), the
//! `recipient` SIRET checked (422), the allocataire found by birth name, first first name and
//! birth date (200 with `data.quotient_familial`), or not (404, code 37003). The demo's
//! allocataires: Thomas Petit (CNAF, 480), Linh Nguyen (MSA, 1250); the birth name
//! « INDISPONIBLE » answers 503, as the provider down.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

/// The token the local portal's client sends, and the twin accepts.
pub const TOKEN: &str = "jeton-api-particulier-local";

/// A demo allocataire, found by birth name, first first name and birth date.
struct Allocataire {
    name: &'static str,
    first: &'static str,
    born: &'static str,
    provider: &'static str,
    qf: u32,
    /// The year and month the QF is for.
    month: (i32, u32),
}

const ALLOCATAIRES: &[Allocataire] = &[
    Allocataire { name: "PETIT", first: "THOMAS", born: "1985-04-12", provider: "CNAF", qf: 480, month: (2026, 11) },
    Allocataire { name: "NGUYEN", first: "LINH", born: "1983-09-30", provider: "MSA", qf: 1250, month: (2026, 10) },
];

#[derive(Clone)]
pub struct Twin;

impl Twin {
    pub fn router(&self) -> Router {
        Router::new().route(domain::qf::PATH, get(answer)).with_state(self.clone())
    }

    /// Serves the twin on a port of its own on 127.0.0.1; its address.
    pub async fn serve(&self) -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = self.router();
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "API Particulier twin stopped");
            }
        });
        Ok((url, task))
    }
}

fn error(status: StatusCode, code: &str, title: &str, detail: &str) -> Response {
    let body = json!({"errors": [{"code": code, "title": title, "detail": detail, "source": null, "meta": {}}]});
    (status, axum::Json(body)).into_response()
}

async fn answer(State(_): State<Twin>, headers: HeaderMap, Query(q): Query<Vec<(String, String)>>) -> Response {
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if bearer != Some(TOKEN) {
        return error(
            StatusCode::UNAUTHORIZED,
            "50002",
            "Jeton invalide",
            "Le jeton d'accès est absent, invalide ou expiré.",
        );
    }
    let one = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.trim().to_uppercase());
    let recipient = one("recipient").unwrap_or_default();
    if recipient.len() != 14 || !recipient.bytes().all(|b| b.is_ascii_digit()) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "00210",
            "Entité non traitable",
            "Le paramètre recipient n'est pas un SIRET valide.",
        );
    }
    let (Some(name), Some(first), Some(y), Some(m), Some(d)) = (
        one("nomNaissance"),
        q.iter().find(|(k, _)| k == "prenoms[]").map(|(_, v)| v.trim().to_uppercase()),
        one("anneeDateNaissance"),
        one("moisDateNaissance"),
        one("jourDateNaissance"),
    ) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "00211",
            "Entité non traitable",
            "Les paramètres d'identité sont incomplets.",
        );
    };
    if name == "INDISPONIBLE" {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "37999",
            "Fournisseur indisponible",
            "Le fournisseur de données est indisponible.",
        );
    }
    let born = format!("{y:0>4}-{m:0>2}-{d:0>2}");
    let Some(&Allocataire { provider, qf: value, month: (year, month), .. }) =
        ALLOCATAIRES.iter().find(|a| a.name == name && a.first == first && a.born == born)
    else {
        return error(
            StatusCode::NOT_FOUND,
            "37003",
            "Dossier allocataire absent CNAV",
            "Le dossier allocataire n'a pas été trouvé auprès de la CNAV.",
        );
    };
    let body: Value = json!({
        "data": {
            "allocataires": [{"nom_naissance": name, "nom_usage": null, "prenoms": first, "date_naissance": born, "sexe": one("sexeEtatCivil")}],
            "enfants": [],
            "adresse": null,
            "quotient_familial": {"fournisseur": provider, "valeur": value, "annee": year, "mois": month, "annee_calcul": year, "mois_calcul": month}
        },
        "links": {},
        "meta": {}
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}
