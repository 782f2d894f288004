//! Test fixtures: stores on both backends, the routers, the local portal on a free port.

use axum::Router;
use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::atomic::{AtomicU32, Ordering};
use store::Store;
use store::dynamo::DynamoStore;
use store::embedded::EmbeddedStore;
use tower::ServiceExt;

/// Runs each `async fn case(store: Store)` of the calling module twice: on a fresh embedded
/// store, and on a fresh DynamoDB table on moto (shown as ignored, with the reason, when no
/// emulator was configured at build time).
macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    let (store, _dir) = crate::helpers::embedded_store();
                    super::$case(store).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test]
                #[cfg_attr(not(moto), ignore = "DynamoDB: set AWS_ENDPOINT_URL to a moto server, or run scripts/test")]
                async fn $case() {
                    if let Some(store) = crate::helpers::dynamo_store().await {
                        super::$case(store).await;
                    }
                }
            )*
        }
    };
}
pub(crate) use both_backends;

/// Like [`both_backends`], and a third time on the contended store (the embedded file behind
/// DynamoDB's conflicts, latency and throttling: `store::contended`).
macro_rules! all_backends {
    ($($case:ident),* $(,)?) => {
        crate::helpers::both_backends!($($case),*);
        mod contended {
            $(
                #[tokio::test]
                async fn $case() {
                    let (store, _dir) = crate::helpers::contended_store();
                    super::$case(store).await;
                }
            )*
        }
    };
}
pub(crate) use all_backends;

/// A second town, « autre-ville », provisioned by the operator, and its administrator logged in
/// (activated from the emailed link).
pub async fn other_town_admin(p: &TestPortal) -> Browser {
    let mut other: Value = serde_json::from_str(local_portal::DEMO_TOWN).expect("demo town");
    other["id"] = serde_json::json!("autre-ville");
    let auth = format!("Bearer {}", local_portal::LOCAL_OPERATOR_TOKEN);
    let hs = [("content-type", "application/json"), ("authorization", auth.as_str())];
    let put =
        call(&p.router, "PUT", "/api/operator/towns/autre-ville", &hs, Some(other.to_string().into_bytes())).await;
    assert_eq!(put.status, 201);
    let staff = serde_json::json!({"email": "mairie@autre-ville.fr", "first_name": "Léon", "last_name": "Blanc", "role": "town_admin"});
    let made =
        call(&p.router, "POST", "/api/operator/towns/autre-ville/staff", &hs, Some(staff.to_string().into_bytes()))
            .await;
    assert_eq!(made.status, 201);
    let token = p.link_token("mairie@autre-ville.fr").await;
    let entry = store::audit::page(&p.store, &domain::TownId::parse("autre-ville").expect("id"), 10, None)
        .await
        .expect("audit")
        .0;
    assert!(
        entry
            .iter()
            .any(|e| e.action == "staff.create" && e.by == "exploitant" && e.target == "account/mairie@autre-ville.fr"),
        "the operator's staff creation is audited: {entry:?}"
    );
    let r = p
        .post(
            "/api/towns/autre-ville/auth/activate",
            serde_json::json!({"token": token, "password": "une mairie bien tenue"}),
            None,
        )
        .await;
    browser_of(r).expect("town B's administrator")
}

/// A fresh embedded store in a temporary folder (kept alive by the returned guard).
pub fn embedded_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(&dir.path().join("store.redb")).expect("open store");
    (Store::embedded(store), dir)
}

/// A fresh contended store with the model's default latency and budgets.
pub fn contended_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(&dir.path().join("store.redb")).expect("open store");
    (Store::contended(store, store::contended::Contention::default()), dir)
}

/// A fresh DynamoDB table on the emulator named by `AWS_ENDPOINT_URL`. Without it (at build
/// time) the cases are compiled as ignored, with the reason; `scripts/test` also sets
/// `EF_REQUIRE_MOTO=1`, which turns a missing endpoint at run time into a failure.
pub async fn dynamo_store() -> Option<Store> {
    static N: AtomicU32 = AtomicU32::new(0);
    let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") else {
        assert!(std::env::var_os("EF_REQUIRE_MOTO").is_none(), "EF_REQUIRE_MOTO is set but AWS_ENDPOINT_URL is not");
        eprintln!("SKIPPED: DynamoDB contract case (AWS_ENDPOINT_URL is not set)");
        return None;
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let table = format!("ef-test-{}-{nanos}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let store = DynamoStore::for_emulator(&endpoint, table).await;
    store.create_table().await.expect("create table on the emulator");
    Some(Store::dynamo(store))
}

/// A response read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: http::HeaderMap,
    pub json: Value,
}

/// Sends one request through a router, as Lambda or the local host would.
pub async fn call(router: &Router, method: &str, uri: &str, headers: &[(&str, &str)], body: Option<Vec<u8>>) -> Reply {
    let mut req = http::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(body.map(Body::from).unwrap_or_else(Body::empty)).expect("request");
    let res = router.clone().oneshot(req).await.expect("infallible");
    let status = res.status().as_u16();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, content_type, headers, json }
}

/// Asserts a problem+json answer with this status and code.
pub fn assert_problem(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.json);
    assert_eq!(reply.content_type, "application/problem+json");
    assert_eq!(reply.json["code"], code, "{:?}", reply.json);
    assert_eq!(reply.json["status"], status);
    assert!(reply.json["title"].as_str().is_some_and(|t| !t.is_empty()), "a French title");
}

/// The local portal's router over a fresh data folder, with the demo town, a clock the test
/// moves, and no background notifier (tests deliver the outbox themselves).
pub struct TestPortal {
    pub router: Router,
    pub store: Store,
    pub clock: edge::clock::Clock,
    /// The documents' bucket (the local S3 server the portal started).
    pub files: edge::files::Files,
    portal: local_portal::Portal,
    _dir: tempfile::TempDir,
}

pub const TOWN: &str = "villeneuve-les-tilleuls";

/// A documented path with its parameters filled: the demo town, `family` and its first child,
/// and ids that name nothing.
pub fn concrete_path(path: &str, town: &str, family: &str) -> String {
    let child = if family == "martin" { "lea-martin" } else { "noe-bernard-petit" };
    path.replace("{town}", town)
        .replace("{family}", family)
        .replace("{child}", child)
        .replace("{date}", "2026-12-01")
        .replace("{unit}", "cantine")
        .replace("{token}", "jeton-inconnu")
        .replace("{id}", "inconnue")
        .replace("{file}", "inconnu")
        .replace("{year}", "2027-2028")
}

pub async fn portal() -> TestPortal {
    portal_with(None, false).await
}

/// The same portal over a given store (both backends).
pub async fn portal_on(store: Store) -> TestPortal {
    portal_with(Some(store), false).await
}

/// The portal as `cargo run -p local-portal` starts it: the demo's children booked today too.
pub async fn portal_with_morning() -> TestPortal {
    portal_with(None, true).await
}

async fn portal_with(store: Option<Store>, demo_morning: bool) -> TestPortal {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-26T09:00:00Z").expect("date").to_utc();
    let clock = edge::clock::Clock::manual(start);
    let mut opts = local_portal::Options { demo_morning, ..local_portal::Options::demo(dir.path(), clock.clone()) };
    // Each function held to its policy in template.yaml (tests/it/iam.rs).
    opts.grants = Some(crate::iam::grantor());
    let portal = match store {
        Some(store) => local_portal::build_on(&opts, store).await.expect("portal"),
        None => local_portal::build(&opts).await.expect("portal"),
    };
    TestPortal {
        router: portal.router.clone(),
        store: portal.store.clone(),
        files: portal.files.clone(),
        clock,
        portal,
        _dir: dir,
    }
}

/// A logged-in browser: its session cookie and CSRF token.
#[derive(Clone)]
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

impl TestPortal {
    /// The store as the function `function` of `template.yaml` holds it in AWS: held to its
    /// policy (tests/it/iam.rs). Tests run a scheduled function's job through it.
    pub fn store_of(&self, function: &str) -> Store {
        self.portal.store_of(function)
    }

    /// Each Lambda's own router, by its name in `template.yaml`.
    pub fn functions(&self) -> &[(&'static str, Router)] {
        &self.portal.functions
    }

    /// Sends what the outbox holds (as the notifier would) and returns every email sent so far,
    /// read back from the messages written (`/dev/mail`'s reading).
    pub async fn deliver(&self) -> Vec<local_portal::devmail::Sent> {
        services::mail::notifier::drain(
            &self.portal.store_of("NotifierFunction"),
            &self.portal.mailer,
            self.clock.now(),
        )
        .await
        .expect("drain");
        local_portal::devmail::read_all(&self.portal.mail_dir).await
    }

    /// The local twin's watched folder of inbound messages.
    pub fn inbound_dir(&self) -> &std::path::Path {
        &self.portal.inbound_dir
    }

    /// One pass over the watched folder, as the running portal makes every second.
    pub async fn feed_dropped(&self) -> Vec<(String, String)> {
        local_portal::devmail::feed_dropped(&self.portal.inbound_dir, &self.portal.inbound).await
    }

    /// The secret of the newest link emailed to `to`.
    pub async fn link_token(&self, to: &str) -> String {
        let mails = self.deliver().await;
        let mail = mails.iter().find(|m| m.to.as_str() == to).unwrap_or_else(|| panic!("no email to {to}"));
        let text = &mail.content.text;
        let start = text.find("#jeton=").expect("a link with a token") + "#jeton=".len();
        text[start..].split_whitespace().next().expect("token").to_owned()
    }

    pub async fn post(&self, uri: &str, body: Value, browser: Option<&Browser>) -> Reply {
        let mut headers = vec![("content-type", "application/json".to_owned())];
        if let Some(b) = browser {
            headers.push(("cookie", b.cookie.clone()));
            headers.push(("x-csrf-token", b.csrf.clone()));
        }
        let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        call(&self.router, "POST", uri, &hs, Some(body.to_string().into_bytes())).await
    }

    /// Any request, with the browser's cookie and CSRF token, and extra headers.
    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        body: Option<Value>,
        browser: &Browser,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut hs: Vec<(&str, &str)> =
            vec![("cookie", browser.cookie.as_str()), ("x-csrf-token", browser.csrf.as_str())];
        if body.is_some() {
            hs.push(("content-type", "application/json"));
        }
        hs.extend_from_slice(extra);
        call(&self.router, method, uri, &hs, body.map(|b| b.to_string().into_bytes())).await
    }

    pub async fn get(&self, uri: &str, browser: Option<&Browser>) -> Reply {
        let cookie = browser.map(|b| b.cookie.clone()).unwrap_or_default();
        let hs: Vec<(&str, &str)> = if browser.is_some() { vec![("cookie", cookie.as_str())] } else { vec![] };
        call(&self.router, "GET", uri, &hs, None).await
    }

    /// Logs in and returns the browser, or the failed reply.
    pub async fn login(&self, town: &str, email: &str, password: &str) -> Result<Browser, Box<Reply>> {
        let r = self
            .post(
                &format!("/api/towns/{town}/auth/login"),
                serde_json::json!({"email": email, "password": password}),
                None,
            )
            .await;
        browser_of(r)
    }

    pub async fn stop(self) {
        self.portal.stop().await;
    }

    /// The PayFiP simulator the portal pays through.
    pub fn payfip(&self) -> &local_portal::payfip_sim::Simulator {
        &self.portal.payfip
    }

    /// Runs a scheduled payment job now, as the `payments` Lambda does.
    pub async fn run_job(&self, job: invoices::jobs::Job) {
        let store = self.portal.store_of("PaymentsFunction");
        let towns = store::repo::Towns::new(store.clone(), std::time::Duration::from_secs(1));
        let ctx = (&store, &towns, "http://portail.test", &self.portal.gateway);
        invoices::jobs::run_job(ctx, job, self.clock.now()).await.expect("job");
    }
}

/// The browser a successful login-like reply opens.
pub fn browser_of(r: Reply) -> Result<Browser, Box<Reply>> {
    if r.status != 200 {
        return Err(Box::new(r));
    }
    let set_cookie = r.headers.get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let cookie = set_cookie.split(';').next().unwrap_or_default().to_owned();
    let csrf = r.json["csrf_token"].as_str().unwrap_or_default().to_owned();
    Ok(Browser { cookie, csrf })
}

/// The raw body of a GET (for non-JSON answers).
pub async fn raw_body(router: &Router, uri: &str) -> Vec<u8> {
    let req = http::Request::builder().uri(uri).body(Body::empty()).expect("request");
    let res = router.clone().oneshot(req).await.expect("infallible");
    res.into_body().collect().await.expect("body").to_bytes().to_vec()
}

/// The raw body and content type of a GET with a session cookie (for CSV and other files).
pub async fn raw_get(router: &Router, uri: &str, cookie: &str) -> (Vec<u8>, String) {
    let req = http::Request::builder().uri(uri).header("cookie", cookie).body(Body::empty()).expect("request");
    let res = router.clone().oneshot(req).await.expect("infallible");
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (res.into_body().collect().await.expect("body").to_bytes().to_vec(), content_type)
}

/// What a person reads (a PDF's text, a CSV's header, a problem's message) has French
/// typography: none of the forms `domain::fr::faults` finds.
#[track_caller]
pub fn assert_french_typography(what: &str, text: &str) {
    let faults: Vec<String> =
        domain::fr::faults(text).into_iter().map(|(f, around)| format!("{f:?} in « {around} »")).collect();
    assert!(faults.is_empty(), "{what}:\n{}", faults.join("\n"));
}

/// How many pages a PDF has, as a reader parses it.
pub fn pdf_pages(pdf: &[u8]) -> usize {
    pdf_extract::Document::load_mem(pdf).expect("the PDF parses").get_pages().len()
}

/// Writes a PDF the tests made into `$EF_PDF_DIR/<name>.pdf` when that variable is set, to look
/// at it by hand (`pdfinfo`, a screen reader): docs/pdf.md.
pub fn keep_pdf(name: &str, pdf: &[u8]) {
    if let Ok(dir) = std::env::var("EF_PDF_DIR") {
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.pdf")), pdf).expect("the PDF written");
    }
}

/// What a tagged PDF says of itself, read back as a reader does (lopdf, through pdf-extract).
#[derive(Debug)]
pub struct PdfFacts {
    /// The structure elements' types in reading order (`H1`, `P`, `Table`, `TH`…).
    pub structure: Vec<String>,
}

/// Asserts `pdf` is a tagged PDF/A-2a and PDF/UA-1 in French titled `title`, and answers its
/// structure and metadata: `/MarkInfo << /Marked true >>`, a `/StructTreeRoot`, `/Lang (fr-FR)`,
/// the title displayed instead of the file name, XMP saying `pdfaid:part` 2, conformance A and
/// `pdfuaid:part` 1 (docs/pdf.md).
#[track_caller]
pub fn assert_accessible_pdf(pdf: &[u8], title: &str) -> PdfFacts {
    use pdf_extract::{Document, Object};
    let doc = Document::load_mem(pdf).expect("the PDF parses");
    let deref = |o: &Object| -> Object { doc.dereference(o).expect("a reference resolves").1.clone() };
    let catalog = doc.catalog().expect("a catalog");
    let marked = catalog.get(b"MarkInfo").map(&deref).expect("/MarkInfo");
    assert!(marked.as_dict().unwrap().get(b"Marked").unwrap().as_bool().unwrap(), "/Marked true");
    assert_eq!(catalog.get(b"Lang").map(&deref).unwrap().as_str().unwrap(), b"fr-FR", "/Lang (fr-FR)");
    let prefs = catalog.get(b"ViewerPreferences").map(&deref).expect("/ViewerPreferences");
    assert!(prefs.as_dict().unwrap().get(b"DisplayDocTitle").unwrap().as_bool().unwrap(), "the title is displayed");
    // The structure tree, depth first (its order is the reading order).
    let root = catalog.get(b"StructTreeRoot").map(&deref).expect("/StructTreeRoot");
    let mut structure = Vec::new();
    let mut stack: Vec<Object> = vec![root.as_dict().unwrap().get(b"K").map(&deref).expect("/K")];
    while let Some(node) = stack.pop() {
        match node {
            Object::Array(kids) => stack.extend(kids.iter().rev().map(&deref)),
            Object::Dictionary(d) => {
                if let Ok(kind) = d.get(b"S").and_then(Object::as_name) {
                    structure.push(String::from_utf8_lossy(kind).into_owned());
                }
                if let Ok(k) = d.get(b"K") {
                    stack.push(deref(k));
                }
            }
            _ => {}
        }
    }
    let metadata = catalog.get(b"Metadata").map(&deref).expect("/Metadata");
    let stream = metadata.as_stream().unwrap();
    let xmp = String::from_utf8(stream.decompressed_content().unwrap_or_else(|_| stream.content.clone())).unwrap();
    for said in
        ["<pdfaid:part>2</pdfaid:part>", "<pdfaid:conformance>A</pdfaid:conformance>", "<pdfuaid:part>1</pdfuaid:part>"]
    {
        assert!(xmp.contains(said), "{said} in the XMP:\n{xmp}");
    }
    assert!(xmp.contains(&format!(">{title}<")), "the title « {title} » in the XMP:\n{xmp}");
    PdfFacts { structure }
}

/// Asserts each of `tags` is in the structure, in this order (others may come between).
#[track_caller]
pub fn assert_structure(facts: &PdfFacts, tags: &[&str]) {
    let mut at = facts.structure.iter();
    for tag in tags {
        assert!(at.any(|s| s == tag), "{tag} (in the order {tags:?}) in the structure {:?}", facts.structure);
    }
}
