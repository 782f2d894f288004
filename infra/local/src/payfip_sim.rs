//! A PayFiP simulator for the local portal and the tests: PayFiP's SOAP web service
//! (`creerPaiementSecurise`, `recupererDetailPaiementSecurise`, as [`invoices::payfip::soap`]
//! writes and reads them) and a payment page where one pays, is refused, cancels, or pays and
//! never comes back. Like PayFiP, it then notifies `urlnotif` and sends the browser to
//! `urlredirect` with the `idop`; until a choice is made, the detail answers the fault `P5`.
//! Operations live in memory: a restart forgets them (the portal's reconciliation then closes
//! them as expired, as it would with PayFiP).

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use domain::payfip::Detail;
use invoices::payfip::soap;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where the simulator is mounted on the local portal.
pub const PREFIX: &str = "/payfip-simulateur";

#[derive(Debug, Clone)]
struct SimOp {
    fields: std::collections::BTreeMap<String, String>,
    /// `P`, `R` or `A` once chosen.
    result: Option<String>,
    /// A test's tampering: the amount PayFiP reports.
    reported_amount: Option<String>,
}

/// The simulator's operations, shared by its routes.
#[derive(Clone)]
pub struct Simulator {
    ops: Arc<Mutex<HashMap<String, SimOp>>>,
    http: reqwest::Client,
}

impl Default for Simulator {
    fn default() -> Self {
        Simulator::new()
    }
}

impl Simulator {
    pub fn new() -> Simulator {
        invoices::payfip::install_crypto();
        Simulator { ops: Arc::default(), http: reqwest::Client::new() }
    }

    /// The router, to merge at the portal's root or serve on its own.
    pub fn router(&self) -> Router {
        Router::new()
            .route(&format!("{PREFIX}/services/securite"), post(service))
            .route(&format!("{PREFIX}/paiement"), get(page).post(choose))
            .with_state(self.clone())
    }

    /// The gateway the invoices function uses to reach this simulator at `base` (the portal's
    /// address, or the simulator's own).
    pub fn gateway(base: &str) -> invoices::payfip::Gateway {
        invoices::payfip::Gateway::new(format!("{base}{PREFIX}/services/securite"), format!("{base}{PREFIX}/paiement"))
    }

    /// Serves the simulator on a port of its own on 127.0.0.1 (tests); its address.
    pub async fn serve(&self) -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = self.router();
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "PayFiP simulator stopped");
            }
        });
        Ok((url, task))
    }

    /// What the payer chose on the page, as a test chooses it: `P` paid, `R` refused, `A`
    /// cancelled; `amount` tampers with the amount the detail reports.
    pub fn decide(&self, idop: &str, result: &str, amount: Option<&str>) -> bool {
        let mut ops = self.ops.lock().unwrap_or_else(|e| e.into_inner());
        match ops.get_mut(idop) {
            Some(op) => {
                op.result = Some(result.to_owned());
                op.reported_amount = amount.map(str::to_owned);
                true
            }
            None => false,
        }
    }

    /// The `creerPaiementSecurise` arguments of operation `idop`.
    pub fn request_of(&self, idop: &str) -> Option<std::collections::BTreeMap<String, String>> {
        self.ops.lock().unwrap_or_else(|e| e.into_inner()).get(idop).map(|o| o.fields.clone())
    }

    fn get(&self, idop: &str) -> Option<SimOp> {
        self.ops.lock().unwrap_or_else(|e| e.into_inner()).get(idop).cloned()
    }
}

fn xml(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// The SOAP endpoint: both operations.
async fn service(State(sim): State<Simulator>, body: String) -> Response {
    let Ok(m) = soap::message(&body) else {
        return xml(StatusCode::INTERNAL_SERVER_ERROR, soap::fault("S1", "Requête SOAP illisible"));
    };
    match m.operation.as_str() {
        "creerPaiementSecurise" => {
            for required in ["numcli", "exer", "refdet", "montant", "mel", "objet", "urlnotif", "urlredirect", "saisie"]
            {
                if m.fields.get(required).is_none_or(String::is_empty) {
                    return xml(StatusCode::INTERNAL_SERVER_ERROR, soap::fault("R3", &format!("{required} manquant")));
                }
            }
            let idop = edge::auth::secret::id();
            let op = SimOp { fields: m.fields, result: None, reported_amount: None };
            sim.ops.lock().unwrap_or_else(|e| e.into_inner()).insert(idop.clone(), op);
            xml(StatusCode::OK, soap::create_response(&idop))
        }
        "recupererDetailPaiementSecurise" => {
            let idop = m.fields.get("idOp").cloned().unwrap_or_default();
            let Some(op) = sim.get(&idop) else {
                return xml(StatusCode::INTERNAL_SERVER_ERROR, soap::fault("P1", "IdOp incorrect"));
            };
            let Some(result) = op.result.clone() else {
                return xml(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    soap::fault("P5", "Résultat de la transaction non connu"),
                );
            };
            let now = chrono::Utc::now();
            let f = |k: &str| op.fields.get(k).cloned().unwrap_or_default();
            let detail = Detail {
                idop: idop.clone(),
                numcli: f("numcli"),
                exer: f("exer"),
                refdet: f("refdet"),
                montant: op.reported_amount.clone().unwrap_or_else(|| f("montant")),
                mel: f("mel"),
                saisie: f("saisie"),
                resultrans: result.clone(),
                dattrans: now.format("%d%m%Y").to_string(),
                heurtrans: now.format("%H%M").to_string(),
                numauto: if result == "P" {
                    format!("{:06}", now.timestamp_subsec_micros() % 1_000_000)
                } else {
                    String::new()
                },
            };
            xml(StatusCode::OK, soap::detail_response(&detail))
        }
        other => xml(StatusCode::INTERNAL_SERVER_ERROR, soap::fault("S2", &format!("opération inconnue {other}"))),
    }
}

#[derive(Deserialize)]
struct PageQuery {
    idop: Option<String>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A page of the simulator, in the portal's own style and with its icon (served by the same
/// local server: no request for a missing `/favicon.ico`).
fn html(title: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
         <link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\"><link rel=\"stylesheet\" href=\"/style.css\"></head>\
         <body><header><span>PayFiP – simulateur local</span></header><main><h1>{title}</h1>{body}</main></body></html>"
    ))
    .into_response()
}

/// PayFiP's payment page (`paiementws.web?idop=`).
async fn page(State(sim): State<Simulator>, Query(q): Query<PageQuery>) -> Response {
    let idop = q.idop.unwrap_or_default();
    let Some(op) = sim.get(&idop) else {
        return (StatusCode::NOT_FOUND, html("PayFiP (simulateur)", "<p>Opération inconnue.</p>")).into_response();
    };
    let f = |k: &str| esc(op.fields.get(k).map_or("", String::as_str));
    let cents: i64 = op.fields.get("montant").and_then(|m| m.parse().ok()).unwrap_or(0);
    let amount = format!("{},{:02} €", cents / 100, cents % 100);
    let choice = |value: &str, label: &str| {
        let class = if value == "payer" { "" } else { " class=\"secondaire\"" };
        format!("<button type=\"submit\" name=\"choix\" value=\"{value}\"{class}>{label}</button> ")
    };
    let body = format!(
        "<p>Simulateur du service de paiement en ligne de la DGFiP\u{202f}: aucune carte n’est débitée.</p>\
         <dl><dt>Objet</dt><dd>{}</dd><dt>Référence</dt><dd>{}</dd><dt>Montant</dt><dd>{amount}</dd>\
         <dt>Régie</dt><dd>{}</dd></dl>\
         <form method=\"post\" action=\"{PREFIX}/paiement\"><input type=\"hidden\" name=\"idop\" value=\"{}\">\
         {}{}{}{}</form>",
        f("objet"),
        f("refdet"),
        f("numcli"),
        esc(&idop),
        choice("payer", "Payer"),
        choice("refuser", "Simuler un refus de la carte"),
        choice("annuler", "Annuler et revenir"),
        choice("payer-sans-retour", "Payer sans revenir sur le portail"),
    );
    html("PayFiP (simulateur) — paiement par carte", &body)
}

#[derive(Deserialize)]
struct Choice {
    idop: String,
    choix: String,
}

/// The payer's choice: stored, notified to `urlnotif`, and the browser sent to `urlredirect`
/// (except « sans retour »).
async fn choose(State(sim): State<Simulator>, Form(c): Form<Choice>) -> Response {
    let result = match c.choix.as_str() {
        "payer" | "payer-sans-retour" => "P",
        "refuser" => "R",
        "annuler" => "A",
        _ => return (StatusCode::BAD_REQUEST, html("PayFiP (simulateur)", "<p>Choix inconnu.</p>")).into_response(),
    };
    if !sim.decide(&c.idop, result, None) {
        return (StatusCode::NOT_FOUND, html("PayFiP (simulateur)", "<p>Opération inconnue.</p>")).into_response();
    }
    let Some(op) = sim.get(&c.idop) else { return StatusCode::NOT_FOUND.into_response() };
    if c.choix == "payer-sans-retour" {
        return html(
            "PayFiP (simulateur) — paiement effectué",
            "<p>Votre paiement est accepté. Vous pouvez fermer cet onglet.</p>",
        );
    }
    // PayFiP's notification, as it sends it: a form with the idop, before the browser returns.
    if let Some(url) = op.fields.get("urlnotif") {
        let sent = sim.http.post(url).form(&[("idop", c.idop.as_str())]).send().await;
        if let Err(e) = sent {
            tracing::info!(error = %e, "PayFiP simulator: notification not delivered");
        }
    }
    let back = op.fields.get("urlredirect").cloned().unwrap_or_default();
    let sep = if back.contains('?') { '&' } else { '?' };
    (StatusCode::SEE_OTHER, [(header::LOCATION, format!("{back}{sep}idop={}", c.idop))]).into_response()
}
