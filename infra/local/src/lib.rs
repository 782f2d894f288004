//! The whole portal on one machine: every function's router on one port, the embedded store
//! in a data folder, emails in a folder (shown at `/dev/mail`), the web pages, and a demo town
//! loaded on first start.

mod demo;
mod demo_file;
pub mod devmail;
pub mod local_s3;
pub mod payfip_sim;
pub mod qf_twin;

pub use demo::{
    DEMO_CAMPAIGN, DEMO_FAMILIES, DEMO_PASSWORD, DEMO_PENDING_FAMILY, DEMO_STAFF, DEMO_TOWN, DemoFamilies, demo_basket,
    demo_data, demo_town_only,
};
use demo::{demo_error, load_demo};

use axum::Router;
use axum::handler::HandlerWithoutStateExt;
use domain::config::Town;
use domain::family::Email;
use edge::auth::accounts::Throttle;
use edge::clock::Clock;
use edge::http::auth::{AuthState, OperatorKey};
use services::mail::{notifier, sender::Mailer};
use std::path::{Path, PathBuf};
use std::time::Duration;
use store::embedded::EmbeddedStore;
use store::repo::Towns;
use store::{Store, StoreError};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::services::ServeDir;

/// The operator token of local runs, printed at start; never used in AWS.
pub const LOCAL_OPERATOR_TOKEN: &str = "jeton-exploitant-local-demo";
/// Where the local portal's contact form writes (shown at `/dev/mail`).
pub const LOCAL_CONTACT_EMAIL: &str = "exploitant@espace-famille.test";
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("data folder {0}: {1}")]
    DataDir(PathBuf, std::io::Error),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("demo data: {0}")]
    Demo(String),
}

/// How to run the local portal.
#[derive(Debug, Clone)]
pub struct Options {
    pub data_dir: PathBuf,
    /// Deletes the stored data first.
    pub reset: bool,
    /// Loads the demo town when it is not there yet.
    pub demo: bool,
    /// At each start, books the demo's children today (the agent's register is never empty on
    /// the first visit): the local portal on the system clock does; tests and frozen clocks
    /// keep the dated demo only, which their assertions count on.
    pub demo_morning: bool,
    pub web_dir: PathBuf,
    pub operator_token: String,
    /// Where the pages are served, for the links in emails.
    pub public_url: String,
    /// Sends queued emails in the background (tests drain the outbox themselves instead).
    pub notifier: bool,
    /// The time source (the system clock, or one a test moves).
    pub clock: Clock,
    /// Where the documents' S3 API is reached. `None`: the local S3 server is started on a port
    /// of its own (tests). The binary gives its own address: the portal serves the bucket under
    /// `/documents/`, on the pages' origin.
    pub s3_endpoint: Option<String>,
    /// Where the PayFiP simulator is reached. `None`: it is started on a port of its own
    /// (tests); the binary gives its own address and serves it under `/payfip-simulateur/`.
    pub payfip_url: Option<String>,
    /// Each function's IAM grants by its name in `template.yaml` (the tests read them from the
    /// template): each function's store handle then refuses what its policy does not allow, as
    /// AWS would (`store::iam`). `None`: nothing is checked.
    pub grants: Option<Grantor>,
}

/// A function's grants by its logical id in `template.yaml`.
#[derive(Clone)]
pub struct Grantor(pub std::sync::Arc<GrantsOf>);

/// What gives a function's grants.
pub type GrantsOf = dyn Fn(&str) -> Option<store::iam::Grants> + Send + Sync;

impl std::fmt::Debug for Grantor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Grantor")
    }
}

impl Options {
    /// The demo town kept in `data_dir`, without the background notifier, on `clock`: what
    /// tests and benchmarks run (they deliver the outbox themselves).
    pub fn demo(data_dir: &Path, clock: Clock) -> Options {
        Options {
            data_dir: data_dir.to_owned(),
            reset: false,
            demo: true,
            demo_morning: false,
            web_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web"),
            operator_token: LOCAL_OPERATOR_TOKEN.to_owned(),
            public_url: "http://portail.test".to_owned(),
            notifier: false,
            clock,
            s3_endpoint: None,
            payfip_url: None,
            grants: None,
        }
    }
}

/// A running portal's parts: the router to serve, the store behind it, the mail folder.
pub struct Portal {
    pub router: Router,
    /// Each Lambda's own router, finished as its `main.rs` serves it, by the function's name in
    /// `template.yaml` (the wiring test holds them to the template's events).
    pub functions: Vec<(&'static str, Router)>,
    pub store: Store,
    pub mailer: Mailer,
    pub mail_dir: PathBuf,
    /// The watched folder: an `.eml` dropped here is received as `POST /dev/mail/inbound` does.
    pub inbound_dir: PathBuf,
    /// What `InboundMailFunction` holds in AWS (the watched folder and the POST run with it).
    pub inbound: documents::AppState,
    pub demo_town: Option<Town>,
    /// The documents' bucket (the local S3 server).
    pub files: edge::files::Files,
    /// The PayFiP simulator (tests choose for the payer through it), and the gateway the
    /// invoices function reaches it by.
    pub payfip: payfip_sim::Simulator,
    pub gateway: invoices::payfip::Gateway,
    grants: Option<Grantor>,
    notifier: Option<(watch::Sender<bool>, JoinHandle<()>)>,
    s3_server: Option<JoinHandle<()>>,
    payfip_server: Option<JoinHandle<()>>,
    qf_server: JoinHandle<()>,
}

impl Portal {
    /// The store as the function `function` (a logical id of `template.yaml`) holds it: held to
    /// its grants when the portal was built with some.
    pub fn store_of(&self, function: &str) -> Store {
        store_of(&self.store, self.grants.as_ref(), function)
    }

    /// Stops the background notifier (it holds the store open).
    pub async fn stop(self) {
        if let Some((stop, task)) = self.notifier {
            let _ = stop.send(true);
            let _ = task.await;
        }
        self.qf_server.abort();
        for task in [self.s3_server, self.payfip_server].into_iter().flatten() {
            task.abort();
        }
    }
}

/// What the scheduled payment jobs need.
struct Jobs {
    towns: Towns,
    public_url: String,
    gateway: invoices::payfip::Gateway,
    /// The watched folder of inbound messages, and what `InboundMailFunction` holds.
    inbound: (PathBuf, documents::AppState),
}

/// Sends due emails and receives the `.eml` files dropped in the inbound folder every second, purges the documents past their retention every hour, runs
/// the payment jobs (PayFiP reconciliation, reminders), until told to stop.
fn spawn_notifier(
    store: Store,
    mailer: Mailer,
    clock: Clock,
    files: edge::files::Files,
    jobs: Jobs,
) -> (watch::Sender<bool>, JoinHandle<()>) {
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut purge = tokio::time::interval(Duration::from_secs(3600));
        // As template.yaml schedules them in AWS: PayFiP every 10 minutes (here every minute),
        // reminders every morning (here every hour; each goes out once anyway).
        let mut reconcile = tokio::time::interval(Duration::from_secs(60));
        let mut remind = tokio::time::interval(Duration::from_secs(3600));
        let mut sweep = tokio::time::interval(Duration::from_secs(60));
        let ctx = |j: &Jobs| (store.clone(), j.towns.clone(), j.public_url.clone(), j.gateway.clone());
        loop {
            tokio::select! {
                _ = reconcile.tick() => {
                    let (store, towns, url, gateway) = ctx(&jobs);
                    let job = invoices::jobs::Job::Reconcile;
                    if let Err(e) = invoices::jobs::run_job((&store, &towns, &url, &gateway), job, clock.now()).await {
                        tracing::warn!(error = %e, "PayFiP reconciliation failed");
                    }
                }
                _ = sweep.tick() => {
                    // As the `operations` Lambda: the town operations' due jobs.
                    let ctx = services::operations::Ctx { store: &store, public_url: &jobs.public_url };
                    if let Err(e) = services::operations::sweep(ctx, &jobs.towns, clock.now()).await {
                        tracing::warn!(error = %e, "operations sweep failed");
                    }
                }
                _ = remind.tick() => {
                    let (store, towns, url, gateway) = ctx(&jobs);
                    let job = invoices::jobs::Job::Remind;
                    if let Err(e) = invoices::jobs::run_job((&store, &towns, &url, &gateway), job, clock.now()).await {
                        tracing::warn!(error = %e, "payment reminders failed");
                    }
                    let ctx = services::operations::Ctx { store: &store, public_url: &url };
                    if let Err(e) = services::operations::remind_all(ctx, &towns, clock.now()).await {
                        tracing::warn!(error = %e, "holiday reminders failed");
                    }
                }
                _ = tick.tick() => {
                    if let Err(e) = notifier::drain(&store, &mailer, clock.now()).await {
                        tracing::warn!(error = %e, "outbox drain failed");
                    }
                    devmail::feed_dropped(&jobs.inbound.0, &jobs.inbound.1).await;
                }
                _ = purge.tick() => {
                    match documents::purge(&store, &files, clock.now(), None).await {
                        Ok(n) if n > 0 => tracing::info!(deleted = n, "documents purged"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "documents purge failed"),
                    }
                    match documents::erase_due(&store, &files, clock.now(), None).await {
                        Ok(n) if n > 0 => tracing::info!(erased = n, "closed families erased"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "families erasure failed"),
                    }
                    // As the daily school-year Lambda: the campaigns' reminders and the
                    // children's files at the end of their keeping.
                    if let Err(e) = schoolyear::daily(&store, &jobs.towns, &jobs.public_url, clock.now()).await {
                        tracing::warn!(error = %e, "school-year jobs failed");
                    }
                }
                _ = stopped.changed() => return,
            }
        }
    });
    (stop, task)
}

fn store_of(store: &Store, grants: Option<&Grantor>, function: &str) -> Store {
    match grants.and_then(|g| (g.0)(function)) {
        Some(g) => store.granted(g),
        None => store.clone(),
    }
}

fn open_store(data_dir: &Path, reset: bool) -> Result<Store, Error> {
    let dir_err = |e| Error::DataDir(data_dir.to_owned(), e);
    if reset && data_dir.exists() {
        std::fs::remove_dir_all(data_dir).map_err(dir_err)?;
    }
    std::fs::create_dir_all(data_dir).map_err(dir_err)?;
    Ok(Store::embedded(EmbeddedStore::open(&data_dir.join("store.redb"))?))
}

/// Opens the data folder, loads the demo town if asked, and builds the merged router.
pub async fn build(opts: &Options) -> Result<Portal, Error> {
    build_on(opts, open_store(&opts.data_dir, opts.reset)?).await
}

/// The same portal over a given store (tests run it on DynamoDB through moto); `data_dir`
/// then only holds the mail folder.
pub async fn build_on(opts: &Options, store: Store) -> Result<Portal, Error> {
    // The TLS crypto of every HTTP client of the process (tests' included): ring.
    invoices::payfip::install_crypto();
    // One process owns the data, so nothing changes behind the cache: it can live long.
    let towns = Towns::new(store.clone(), Duration::from_secs(3600));
    // Each function its own store handle (held to its grants, if any), as each Lambda has it;
    // one towns' cache, as one process owns the data (the stack twin runs each function alone).
    let of = |function: &str| {
        let store = store_of(&store, opts.grants.as_ref(), function);
        let auth = AuthState { store: store.clone(), clock: opts.clock.clone(), trusted_proxies: 0 };
        (auth, towns.through(store))
    };
    let s3 = local_s3::service(&opts.data_dir.join("s3")).map_err(|e| Error::DataDir(opts.data_dir.join("s3"), e))?;
    let (s3_endpoint, s3_server) = match &opts.s3_endpoint {
        Some(url) => (url.trim_end_matches('/').to_owned(), None),
        None => {
            let (url, task) =
                local_s3::serve(s3.clone()).await.map_err(|e| Error::DataDir(opts.data_dir.join("s3"), e))?;
            (url, Some(task))
        }
    };
    let files = edge::files::Files::local(&s3_endpoint, edge::files::LOCAL_BUCKET);
    let accounts_state = |(auth, towns): (AuthState, Towns)| accounts::AppState {
        auth,
        towns,
        public_url: opts.public_url.trim_end_matches('/').to_owned(),
        throttle: Throttle::default(),
        operator: OperatorKey::new(Some(&opts.operator_token)),
        equal_answer_time: Duration::from_millis(300),
        files: files.clone(),
    };
    let (auth, calendar_towns) = of("CalendarFunction");
    let calendar_state = calendar::AppState { auth, towns: calendar_towns };
    let (auth, basket_towns) = of("BasketFunction");
    let basket_state =
        basket::AppState { auth, towns: basket_towns, public_url: opts.public_url.trim_end_matches('/').to_owned() };
    let accounts = accounts_state(of("AccountsFunction"));
    // The demo is loaded by hand, not by a function.
    let demo_town = if opts.demo {
        let loader = accounts_state((
            AuthState { store: store.clone(), clock: opts.clock.clone(), trusted_proxies: 0 },
            towns.clone(),
        ));
        Some(load_demo(&towns, opts, &loader).await?)
    } else {
        None
    };
    let mail_dir = opts.data_dir.join("mail");
    let inbound_dir = opts.data_dir.join("inbound");
    let mailer = Mailer::Folder(mail_dir.clone());
    let public_url = opts.public_url.trim_end_matches('/').to_owned();
    let payfip = payfip_sim::Simulator::new();
    let (payfip_url, payfip_server) = match &opts.payfip_url {
        Some(url) => (url.trim_end_matches('/').to_owned(), None),
        None => {
            let (url, task) = payfip.serve().await.map_err(|e| Error::DataDir(opts.data_dir.clone(), e))?;
            (url, Some(task))
        }
    };
    let gateway = payfip_sim::Simulator::gateway(&payfip_url);
    // API Particulier's twin, on a port of its own, reached through the same client as the API.
    let (qf_url, qf_server) = qf_twin::Twin.serve().await.map_err(|e| Error::DataDir(opts.data_dir.clone(), e))?;
    let qf = services::qf::ApiParticulier::new(&qf_url, qf_twin::TOKEN);
    let functions: Vec<(&'static str, Router)> = vec![
        (
            "TownsFunction",
            towns::router(
                towns::AppState::new(of("TownsFunction").1, OperatorKey::new(Some(&opts.operator_token))).with_contact(
                    towns::Contact {
                        to: Email::parse(LOCAL_CONTACT_EMAIL).map_err(demo_error)?,
                        clock: opts.clock.clone(),
                        trusted_proxies: 0,
                    },
                ),
            ),
        ),
        ("AccountsFunction", accounts::router(accounts)),
        ("CalendarFunction", calendar::router(calendar_state)),
        ("BasketFunction", basket::router(basket_state)),
        (
            "StaffFunction",
            staff::router(staff::AppState {
                auth: of("StaffFunction").0,
                towns: of("StaffFunction").1,
                public_url: public_url.clone(),
                qf: Some(qf),
            }),
        ),
        (
            "DocumentsFunction",
            documents::router(documents::AppState {
                auth: of("DocumentsFunction").0,
                towns: of("DocumentsFunction").1,
                files: files.clone(),
                public_url: public_url.clone(),
            }),
        ),
        (
            "InvoicesFunction",
            invoices::router(invoices::AppState {
                auth: of("InvoicesFunction").0,
                towns: of("InvoicesFunction").1,
                public_url: public_url.clone(),
                payfip: Some(gateway.clone()),
            }),
        ),
        (
            "SchoolYearFunction",
            schoolyear::router(schoolyear::AppState {
                auth: of("SchoolYearFunction").0,
                towns: of("SchoolYearFunction").1,
                public_url: public_url.clone(),
            }),
        ),
        (
            "NewsFunction",
            news::router(news::AppState {
                auth: of("NewsFunction").0,
                towns: of("NewsFunction").1,
                files: files.clone(),
                public_url: public_url.clone(),
            }),
        ),
    ];
    let inbound = documents::AppState {
        auth: of("InboundMailFunction").0,
        towns: of("InboundMailFunction").1,
        files: files.clone(),
        public_url: public_url.clone(),
    };
    let api = functions.iter().fold(Router::new(), |api, (_, r)| api.merge(r.clone())).merge(devmail::router(
        devmail::DevMail {
            dir: mail_dir.clone(),
            store: store.clone(),
            towns: towns.clone(),
            public_url: public_url.clone(),
            clock: opts.clock.clone(),
            inbound: inbound.clone(),
        },
    ));
    // On the binary, the simulator shares the portal's origin.
    let api = if payfip_server.is_none() { api.merge(payfip.router()) } else { api };
    let functions = functions.into_iter().map(|(name, r)| (name, edge::http::finish(r))).collect();
    // The pages are not fingerprinted: the browser revalidates them on each visit (a 304 when
    // unchanged), so a new version is never mixed with an old script. Text is gzipped (CloudFront
    // does both in AWS).
    let pages = tower::ServiceBuilder::new()
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
        .layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-cache"),
        ))
        .service(ServeDir::new(&opts.web_dir).not_found_service(edge::http::not_found.into_service()));
    let router = edge::http::finish(api)
        .route(&format!("/{}", edge::files::LOCAL_BUCKET), local_s3::route(s3.clone()))
        .route(&format!("/{}/", edge::files::LOCAL_BUCKET), local_s3::route(s3.clone()))
        .route(&format!("/{}/{{*key}}", edge::files::LOCAL_BUCKET), local_s3::route(s3))
        .fallback_service(pages);
    // The pages too; the browser sends files straight to the local S3 server.
    let router = edge::http::headers::secure(router, &[&s3_endpoint]);
    let notifier = opts.notifier.then(|| {
        let inbound = (inbound_dir.clone(), inbound.clone());
        let jobs = Jobs { towns, public_url: public_url.clone(), gateway: gateway.clone(), inbound };
        spawn_notifier(store.clone(), mailer.clone(), opts.clock.clone(), files.clone(), jobs)
    });
    Ok(Portal {
        router,
        functions,
        store,
        mailer,
        mail_dir,
        inbound_dir,
        inbound,
        demo_town,
        files,
        payfip,
        gateway,
        grants: opts.grants.clone(),
        notifier,
        s3_server,
        payfip_server,
        qf_server,
    })
}
