//! PayFiP's web service as the portal calls it (SOAP over HTTPS): `creerPaiementSecurise` and
//! `recupererDetailPaiementSecurise`, with their envelopes and answers in [`soap`] (the local
//! simulator in `infra/local` speaks the same). The rules of a request and of reading the answer
//! are in [`domain::payfip`].

use domain::payfip::{Answer, Creation};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// PayFiP's production endpoints (docs/payments.md); a test or local endpoint is configuration.
pub const SERVICE_URL: &str = "https://www.payfip.gouv.fr/tpa/services/securite";
pub const PAGE_URL: &str = "https://www.payfip.gouv.fr/tpa/paiementws.web";

/// How long one call to PayFiP may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The PayFiP web service: where it is, and the HTTP client, built on first use (a function
/// that never calls PayFiP does not load the system's certificates at start).
#[derive(Clone)]
pub struct Gateway {
    /// The SOAP endpoint.
    pub service: String,
    /// The payment page; the family goes to `<page>?idop=<idOp>`.
    pub page: String,
    client: Arc<OnceLock<Result<reqwest::Client, String>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("PayFiP unreachable: {0}")]
    Unreachable(String),
    #[error("PayFiP answered something unexpected: {0}")]
    Unexpected(String),
}

/// Makes ring (the SDKs' crypto, already in every function) the process's default TLS
/// provider, for any reqwest client built afterwards: reqwest is built here without a provider of
/// its own (no second crypto library). Calling it again does nothing.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Gateway {
    pub fn new(service: impl Into<String>, page: impl Into<String>) -> Gateway {
        Gateway { service: service.into(), page: page.into(), client: Arc::new(OnceLock::new()) }
    }

    /// From `PAYFIP_SERVICE_URL` and `PAYFIP_PAGE_URL`, PayFiP's production endpoints otherwise.
    pub fn from_env() -> Gateway {
        let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
        Gateway::new(var("PAYFIP_SERVICE_URL", SERVICE_URL), var("PAYFIP_PAGE_URL", PAGE_URL))
    }

    /// Where the family pays operation `idop`.
    pub fn page_of(&self, idop: &str) -> String {
        format!("{}?idop={}", self.page, percent(idop))
    }

    fn client(&self) -> Result<&reqwest::Client, GatewayError> {
        self.client
            .get_or_init(|| {
                install_crypto();
                services::qf::https_client(TIMEOUT)
            })
            .as_ref()
            .map_err(|e| GatewayError::Unreachable(e.clone()))
    }

    async fn call(&self, envelope: String) -> Result<String, GatewayError> {
        let response = self
            .client()?
            .post(&self.service)
            .header("content-type", "text/xml; charset=utf-8")
            .header("soapaction", "")
            .body(envelope)
            .send()
            .await
            .map_err(|e| GatewayError::Unreachable(e.to_string()))?;
        // A SOAP fault comes with a 500: its body says what.
        response.text().await.map_err(|e| GatewayError::Unreachable(e.to_string()))
    }

    /// `creerPaiementSecurise`: the new operation's `idOp`.
    pub async fn create(&self, c: &Creation) -> Result<String, GatewayError> {
        let body = self.call(soap::create_request(c)).await?;
        match soap::read(&body)? {
            soap::Reply::Fields(f) => {
                f.get("idOp").filter(|s| !s.is_empty()).cloned().ok_or_else(|| GatewayError::Unexpected(body.clone()))
            }
            soap::Reply::Fault { code, label } => Err(GatewayError::Unexpected(format!("{code}: {label}"))),
        }
    }

    /// `recupererDetailPaiementSecurise`: the operation's details, or PayFiP's error code.
    pub async fn detail(&self, idop: &str) -> Result<Answer, GatewayError> {
        let body = self.call(soap::detail_request(idop)).await?;
        Ok(soap::answer(soap::read(&body)?))
    }
}

/// `idOp`s are letters, digits and dashes; anything else is escaped in the page's address.
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The SOAP envelopes of PayFiP's two operations, and reading their answers.
pub mod soap {
    use super::GatewayError;
    use domain::payfip::{Answer, Creation, Detail};
    use quick_xml::escape::escape;
    use quick_xml::events::Event;
    use std::collections::BTreeMap;

    /// The service's namespace.
    pub const NS: &str = "http://securite.service.tpa.cp.finances.gouv.fr/services/mas_securite/contrat_paiement_securise/PaiementSecuriseService";

    fn envelope(operation: &str, args: &[(&str, &str)]) -> String {
        let mut arg0 = String::new();
        for (name, value) in args {
            arg0.push_str(&format!("<{name}>{}</{name}>", escape(*value)));
        }
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:pai=\"{NS}\">\
             <soapenv:Header/><soapenv:Body><pai:{operation}><arg0>{arg0}</arg0></pai:{operation}></soapenv:Body>\
             </soapenv:Envelope>"
        )
    }

    pub fn create_request(c: &Creation) -> String {
        let (exer, montant) = (c.exer.to_string(), c.montant.to_string());
        envelope(
            "creerPaiementSecurise",
            &[
                ("exer", &exer),
                ("mel", &c.mel),
                ("montant", &montant),
                ("numcli", &c.numcli),
                ("objet", &c.objet),
                ("refdet", &c.refdet),
                ("saisie", c.saisie.code()),
                ("urlnotif", &c.urlnotif),
                ("urlredirect", &c.urlredirect),
            ],
        )
    }

    pub fn detail_request(idop: &str) -> String {
        envelope("recupererDetailPaiementSecurise", &[("idOp", idop)])
    }

    /// A SOAP message read: which operation it is (the body's first element), and its leaf
    /// elements by local name (the first of each name).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Message {
        pub operation: String,
        pub fields: BTreeMap<String, String>,
    }

    /// Reads any of the messages PayFiP's service exchanges.
    pub fn message(xml: &str) -> Result<Message, GatewayError> {
        let bad = |e: String| GatewayError::Unexpected(e);
        let mut reader = quick_xml::Reader::from_str(xml);
        let (mut path, mut fields, mut operation) = (Vec::<String>::new(), BTreeMap::new(), String::new());
        let mut raw = String::new();
        loop {
            match reader.read_event().map_err(|e| bad(e.to_string()))? {
                Event::Start(e) => {
                    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                    if path.last().is_some_and(|p| p == "Body") && operation.is_empty() {
                        operation = name.clone();
                    }
                    path.push(name);
                    raw.clear();
                }
                Event::Empty(e) => {
                    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                    fields.entry(name).or_insert_with(String::new);
                }
                Event::Text(t) => raw.push_str(&t.decode().map_err(|e| bad(e.to_string()))?),
                Event::GeneralRef(r) => {
                    raw.push('&');
                    raw.push_str(&r.decode().map_err(|e| bad(e.to_string()))?);
                    raw.push(';');
                }
                Event::End(_) => {
                    // Whitespace between elements is layout, not a value; a value's own edges
                    // are trimmed once whole (trimming each text event would eat the spaces
                    // around an entity: « a &amp; b »).
                    if let Some(name) = path.pop()
                        && !raw.trim().is_empty()
                    {
                        let text = quick_xml::escape::unescape(&raw).map_err(|e| bad(e.to_string()))?;
                        fields.entry(name).or_insert_with(|| text.trim().to_owned());
                    }
                    raw.clear();
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if operation.is_empty() {
            return Err(bad("no SOAP body".into()));
        }
        Ok(Message { operation, fields })
    }

    /// An answer: its fields, or a fault with PayFiP's functional code.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Reply {
        Fields(BTreeMap<String, String>),
        Fault { code: String, label: String },
    }

    pub fn read(xml: &str) -> Result<Reply, GatewayError> {
        let m = message(xml)?;
        if m.operation == "Fault" {
            let get = |k: &str| m.fields.get(k).cloned();
            let code = get("code").or_else(|| get("faultcode")).unwrap_or_default();
            let label = get("libelle").or_else(|| get("descriptif")).or_else(|| get("faultstring")).unwrap_or_default();
            return Ok(Reply::Fault { code, label });
        }
        Ok(Reply::Fields(m.fields))
    }

    pub fn answer(reply: Reply) -> Answer {
        match reply {
            Reply::Fault { code, label } => Answer::Error { code, label },
            Reply::Fields(f) => {
                let get = |k: &str| f.get(k).cloned().unwrap_or_default();
                Answer::Detail(Box::new(Detail {
                    idop: get("idOp"),
                    numcli: get("numcli"),
                    exer: get("exer"),
                    refdet: get("refdet"),
                    montant: get("montant"),
                    mel: get("mel"),
                    saisie: get("saisie"),
                    resultrans: get("resultrans"),
                    dattrans: get("dattrans"),
                    heurtrans: get("heurtrans"),
                    numauto: get("numauto"),
                }))
            }
        }
    }

    /// The service's answer to `creerPaiementSecurise` (the simulator's side).
    pub fn create_response(idop: &str) -> String {
        response("creerPaiementSecuriseResponse", &[("idOp", idop)])
    }

    /// The service's answer to `recupererDetailPaiementSecurise` (the simulator's side).
    pub fn detail_response(d: &Detail) -> String {
        response(
            "recupererDetailPaiementSecuriseResponse",
            &[
                ("dattrans", &d.dattrans),
                ("exer", &d.exer),
                ("heurtrans", &d.heurtrans),
                ("idOp", &d.idop),
                ("mel", &d.mel),
                ("montant", &d.montant),
                ("numauto", &d.numauto),
                ("numcli", &d.numcli),
                ("refdet", &d.refdet),
                ("resultrans", &d.resultrans),
                ("saisie", &d.saisie),
            ],
        )
    }

    fn response(operation: &str, fields: &[(&str, &str)]) -> String {
        let mut ret = String::new();
        for (name, value) in fields {
            ret.push_str(&format!("<{name}>{}</{name}>", escape(*value)));
        }
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\"><S:Body>\
             <ns2:{operation} xmlns:ns2=\"{NS}\"><return>{ret}</return></ns2:{operation}>\
             </S:Body></S:Envelope>"
        )
    }

    /// A functional error, as PayFiP returns it (`P5`: no result yet).
    pub fn fault(code: &str, label: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\"><S:Body><S:Fault>\
             <faultcode>S:Server</faultcode><faultstring>fr.gouv.finances.cp.xmlsecurite.FonctionnelleErreur</faultstring>\
             <detail><ns2:FonctionnelleErreur xmlns:ns2=\"{NS}\"><code>{}</code><descriptif>{}</descriptif>\
             <libelle>{}</libelle><severite>2</severite></ns2:FonctionnelleErreur></detail></S:Fault></S:Body></S:Envelope>",
            escape(code),
            escape(label),
            escape(label)
        )
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use domain::payfip::Saisie;

        #[test]
        fn a_creation_round_trips_through_its_envelope() {
            let c = Creation {
                numcli: "012345".into(),
                exer: 2026,
                refdet: "2026000002".into(),
                montant: 1000,
                mel: "sophie.martin@exemple.fr".into(),
                objet: "Facture 2026-000002 & co".into(),
                urlnotif: "https://portail.example/api/towns/t/payfip/notification".into(),
                urlredirect: "https://portail.example/api/towns/t/payfip/return?x=1&y=2".into(),
                saisie: Saisie::Test,
            };
            let m = message(&create_request(&c)).unwrap();
            assert_eq!(m.operation, "creerPaiementSecurise");
            assert_eq!(m.fields["objet"], "Facture 2026-000002 & co");
            assert_eq!(m.fields["urlredirect"], c.urlredirect);
            assert_eq!(m.fields["montant"], "1000");
            assert_eq!(m.fields["saisie"], "T");
            assert_eq!(
                read(&create_response("op-42")).unwrap(),
                Reply::Fields([("idOp".into(), "op-42".into())].into())
            );
        }

        #[test]
        fn details_and_faults_are_read() {
            let d =
                Detail { idop: "op-42".into(), resultrans: "P".into(), montant: "1000".into(), ..Detail::default() };
            assert_eq!(answer(read(&detail_response(&d)).unwrap()), Answer::Detail(Box::new(d)));
            assert_eq!(
                answer(read(&fault("P5", "Résultat de la transaction non connu")).unwrap()),
                Answer::Error { code: "P5".into(), label: "Résultat de la transaction non connu".into() }
            );
            assert!(message("<html>502 Bad Gateway</html>").is_err());
            assert!(message("not xml <<<").is_err());
        }
    }
}
