//! `espace-famille-stack`: the stack as deployed, on this machine, from `template.yaml` alone.
//! moto stands for DynamoDB, S3, SES and Secrets Manager (the template's resources created in
//! it); each function's own binary runs as Lambda runs it, one process per instance behind its
//! Runtime API; API Gateway's routes and CloudFront's behaviours and security headers front them;
//! the scheduled functions get their EventBridge events. docs/deployment.md, « The stack twin ».

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use clap::Parser;
use stack::gateway;
use stack::lambda::{Function, Spec};
use stack::template::{Route, Stack, Template};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on (the portal's, as CloudFront's).
    #[arg(long, default_value = "127.0.0.1:3100")]
    addr: SocketAddr,
    #[arg(long, default_value = "template.yaml")]
    template: PathBuf,
    /// Where the functions' binaries are (`cargo build --workspace --bins`).
    #[arg(long, default_value = "target/debug")]
    bin_dir: PathBuf,
    #[arg(long, default_value = "web")]
    web_dir: PathBuf,
    /// The Python with moto (scripts/test installs it).
    #[arg(long, default_value = ".venv/bin/python")]
    python: PathBuf,
    /// An already running moto; else one is started.
    #[arg(long)]
    aws_endpoint: Option<String>,
    /// Fires every schedule every this many seconds instead of at its time.
    #[arg(long)]
    fast: Option<u64>,
    /// Stops an instance idle for this many seconds.
    #[arg(long, default_value_t = 60)]
    idle: u64,
    /// The SES-verified sender (the template's SenderEmail).
    #[arg(long, default_value = "mairie@espace-famille.test")]
    sender: String,
    /// Loads the local portal's demo town into the table first (its accounts' password is
    /// printed), for trying the stack and for the smoke test.
    #[arg(long)]
    demo: bool,
}

struct Twin {
    routes: Vec<(String, Route)>,
    functions: BTreeMap<String, Arc<Function>>,
    headers: Vec<(HeaderName, HeaderValue, bool)>,
    web_dir: PathBuf,
    aws_endpoint: String,
    /// Each topic's subscribed functions (by the topic's logical id): the function, its event's
    /// name, the topic's ARN.
    topics: BTreeMap<String, Vec<(Arc<Function>, String, String)>>,
    /// Each route's answers as served (status, milliseconds), by route key.
    served: std::sync::Mutex<BTreeMap<String, Vec<(u16, u64)>>>,
}

#[tokio::main]
#[allow(clippy::print_stdout, reason = "the twin prints where it listens")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    edge::telemetry::init(false);
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (endpoint, moto) = match &args.aws_endpoint {
        Some(e) => (e.clone(), None),
        None => {
            let (e, child) = stack::aws::start_moto(&args.python).await?;
            (e, Some(child))
        }
    };
    // The functions reach AWS over HTTPS, as in AWS; the bucket's regional address is there.
    let ca_file = std::env::temp_dir().join(format!("espace-famille-stack-{}.pem", std::process::id()));
    let https = stack::aws::https_front(&endpoint, &ca_file).await?;
    // PayFiP's parameters name the simulator the twin serves, as a trial names PayFiP's test
    // platform.
    let payfip = local_portal::payfip_sim::Simulator::gateway(&url);
    let text = std::fs::read_to_string(&args.template)?;
    let mut stack = Stack::local(&[
        ("PublicUrl", &url),
        ("SenderEmail", &args.sender),
        ("ContactEmail", "exploitant@espace-famille.test"),
        ("PayfipServiceUrl", &payfip.service),
        ("PayfipPageUrl", &payfip.page),
    ]);
    stack.s3_domain = Some(https.trim_start_matches("https://").to_owned());
    let template = Template::parse(&text, stack)?;
    let created = stack::aws::create_resources(&template, &endpoint, &args.sender).await?;
    if args.demo {
        let data = std::env::temp_dir().join(format!("espace-famille-stack-{}", std::process::id()));
        let mut opts = local_portal::Options::demo(&data, edge::clock::Clock::system());
        opts.web_dir = args.web_dir.clone();
        opts.public_url = url.clone();
        opts.s3_endpoint = Some(endpoint.clone());
        opts.payfip_url = Some(url.clone());
        let table = template.reference("Table")?;
        let store = store::Store::dynamo(store::dynamo::DynamoStore::for_emulator(&endpoint, &table).await);
        local_portal::build_on(&opts, store).await?.stop().await;
        let _ = std::fs::remove_dir_all(&data);
        println!("  Demo town    : villeneuve-les-tilleuls (password « {} »)", local_portal::DEMO_PASSWORD);
    }
    let mut functions = BTreeMap::new();
    let mut routes = Vec::new();
    for f in &template.functions {
        let mut env = f.env.clone();
        for v in env.values_mut() {
            for (placeholder, real) in &created.physical {
                *v = v.replace(placeholder, real);
            }
        }
        env.insert("AWS_ENDPOINT_URL".into(), https.clone());
        env.insert("AWS_CA_BUNDLE".into(), ca_file.display().to_string());
        env.insert("AWS_REGION".into(), template.stack.region.clone());
        env.insert("AWS_DEFAULT_REGION".into(), template.stack.region.clone());
        env.insert("AWS_ACCESS_KEY_ID".into(), "test".into());
        env.insert("AWS_SECRET_ACCESS_KEY".into(), "test".into());
        env.insert("AWS_SESSION_TOKEN".into(), format!("local-{}", f.id));
        let spec = Spec {
            name: f.id.clone(),
            binary: args.bin_dir.join(&f.binary),
            env,
            timeout: Duration::from_secs(f.timeout_s),
            memory_mb: f.memory_mb,
        };
        if !spec.binary.exists() {
            return Err(
                format!("{}: no binary {} (cargo build --workspace --bins)", f.id, spec.binary.display()).into()
            );
        }
        functions.insert(f.id.clone(), Function::new(spec));
        routes.extend(f.routes.iter().map(|r| (f.id.clone(), r.clone())));
    }
    let mut topics: BTreeMap<String, Vec<(Arc<Function>, String, String)>> = BTreeMap::new();
    for f in &template.functions {
        for t in &f.topics {
            topics.entry(t.topic.clone()).or_default().push((functions[&f.id].clone(), t.name.clone(), t.arn.clone()));
        }
    }
    // Each stream event source mapping reads its table's stream from now on (`LATEST`: the
    // demo's writes are not delivered, as a mapping created after them would not).
    let streams = stack::events::Streams::new(&endpoint, &template.stack.region);
    for f in &template.functions {
        for s in &f.streams {
            let Some(stream_arn) = created.streams.get(&s.table) else {
                return Err(
                    format!("{}.{}: the table {} has no stream (StreamSpecification)", f.id, s.name, s.table).into()
                );
            };
            let mapping = stack::events::Mapping {
                function: functions[&f.id].clone(),
                name: s.name.clone(),
                stream_arn: stream_arn.clone(),
                starting_position: s.starting_position.clone(),
                batch_size: s.batch_size,
                window: Duration::from_secs(s.batching_window_s),
                filters: s.filters.clone(),
                region: template.stack.region.clone(),
            };
            tokio::spawn(stack::events::run(streams.clone(), mapping));
        }
    }
    let twin = Arc::new(Twin {
        routes,
        topics,
        headers: stack::aws::security_headers(&template)?,
        functions,
        web_dir: args.web_dir.clone(),
        aws_endpoint: endpoint.clone(),
        served: std::sync::Mutex::default(),
    });
    for f in &template.functions {
        for s in &f.schedules {
            let function = twin.functions[&f.id].clone();
            let every = match args.fast {
                Some(n) => Duration::from_secs(n),
                None => stack::aws::period(&s.expression),
            };
            let event = s.input.clone();
            let source = s.name.clone();
            let rule =
                format!("arn:aws:events:{}:{}:rule/{}-{}", template.stack.region, template.stack.account, f.id, s.name);
            let region = template.stack.region.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let payload =
                        event.clone().unwrap_or_else(|| stack::aws::scheduled_event(&rule, &region).to_string());
                    if let Err(e) = function.invoke(payload.into_bytes(), &source).await {
                        tracing::warn!(function = function.name(), error = %e, "scheduled invocation failed");
                    }
                }
            });
        }
    }
    let reaper = twin.clone();
    let idle = Duration::from_secs(args.idle);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            for f in reaper.functions.values() {
                f.reap(idle);
            }
        }
    });
    let app = Router::new()
        .route("/__stack/counts", axum::routing::get(counts))
        .route("/__stack/stats", axum::routing::get(stats))
        .route("/__stack/aws", axum::routing::get(aws_endpoint))
        .route("/__stack/sns/{topic}", axum::routing::post(publish))
        .fallback(front)
        .with_state(twin.clone())
        // PayFiP's simulator: another site than the portal's (no CloudFront in front).
        .merge(local_portal::payfip_sim::Simulator::new().router());
    println!();
    println!("  Espace Famille — the stack twin (template.yaml)");
    println!("  Portal       : {url}/");
    println!("  AWS (moto)   : {endpoint}, {https} (HTTPS, certificate {})", ca_file.display());
    println!("  PayFiP       : {url}{}/ (simulator)", local_portal::payfip_sim::PREFIX);
    println!("  Operator     : {}", created.operator_token);
    println!("  Functions    : {}", twin.functions.len());
    for f in &template.functions {
        for s in &f.streams {
            println!("  Stream       : {}.{} ← the stream of {}", f.id, s.name, s.table);
        }
        for t in &f.topics {
            println!("  SNS          : {}.{} ← POST {url}/__stack/sns/{}", f.id, t.name, t.topic);
        }
    }
    println!();
    let serve = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>());
    tokio::select! {
        r = serve => r?,
        _ = tokio::signal::ctrl_c() => {}
    }
    for f in twin.functions.values() {
        f.stop_all();
    }
    if let Some(mut m) = moto {
        let _ = m.kill().await;
    }
    let _ = std::fs::remove_file(&ca_file);
    Ok(())
}

/// Where moto is (tests read the emails SES was given from it).
async fn aws_endpoint(State(twin): State<Arc<Twin>>) -> Response {
    axum::Json(serde_json::json!({"endpoint": twin.aws_endpoint})).into_response()
}

/// SNS's `Publish` to a topic of the template (`/__stack/sns/MailEventsTopic`), the body being
/// the message: each subscribed function is invoked with SNS's Lambda event, as an asynchronous
/// invocation (retried twice when it fails). moto's SES does not publish a configuration set's
/// events: a test, or a person trying the stack, publishes the event SES would
/// (docs/deployment.md). Answers once delivered, with the message's id.
async fn publish(
    State(twin): State<Arc<Twin>>,
    axum::extract::Path(topic): axum::extract::Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(subscribers) = twin.topics.get(&topic) else {
        return (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"message": "Topic does not exist"})))
            .into_response();
    };
    let Ok(message) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, axum::Json(serde_json::json!({"message": "The message is not UTF-8"})))
            .into_response();
    };
    let id = format!("{:032x}", chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default());
    let mut failed = Vec::new();
    for (function, event, arn) in subscribers {
        let payload = stack::events::sns_event(arn, message, &id, chrono::Utc::now()).to_string().into_bytes();
        let mut outcome = function.invoke(payload.clone(), event).await;
        for _ in 0..2 {
            if outcome.is_ok() {
                break;
            }
            outcome = function.invoke(payload.clone(), event).await;
        }
        if let Err(e) = outcome {
            failed.push(format!("{}: {e}", function.name()));
        }
    }
    axum::Json(serde_json::json!({"MessageId": id, "failed": failed})).into_response()
}

/// What the twin saw: each function's counts (`/__stack/counts`) and each route's requests with
/// their p50 and p95 as served, in milliseconds (docs/performance.md, « Through the stack twin »).
async fn stats(State(twin): State<Arc<Twin>>) -> Response {
    let functions: BTreeMap<&str, stack::lambda::Counts> =
        twin.functions.iter().map(|(k, f)| (k.as_str(), f.counts())).collect();
    let served = twin.served.lock().map(|s| s.clone()).unwrap_or_default();
    let routes: BTreeMap<String, serde_json::Value> = served
        .into_iter()
        .map(|(route, answers)| {
            let mut times: Vec<u64> = answers.iter().map(|(_, ms)| *ms).collect();
            times.sort_unstable();
            let at = |q: f64| times.get(((times.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied();
            let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
            for (status, _) in &answers {
                *statuses.entry(*status).or_default() += 1;
            }
            let json = serde_json::json!({"requests": times.len(), "p50_ms": at(0.5), "p95_ms": at(0.95), "statuses": statuses});
            (route, json)
        })
        .collect();
    axum::Json(serde_json::json!({"functions": functions, "routes": routes})).into_response()
}

async fn counts(State(twin): State<Arc<Twin>>) -> Response {
    let all: BTreeMap<&str, stack::lambda::Counts> =
        twin.functions.iter().map(|(k, f)| (k.as_str(), f.counts())).collect();
    axum::Json(all).into_response()
}

/// CloudFront: `/api/*` and `/health` to API Gateway, the rest to the pages' bucket, the
/// response headers policy on both.
async fn front(State(twin): State<Arc<Twin>>, ConnectInfo(peer): ConnectInfo<SocketAddr>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let mut response = if path.starts_with("/api/") || path == "/health" {
        api(&twin, peer, req).await
    } else {
        page(&twin, &path).await
    };
    for (name, value, override_) in &twin.headers {
        if *override_ || !response.headers().contains_key(name) {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    response
}

async fn page(twin: &Twin, path: &str) -> Response {
    // DefaultRootObject applies to the root only; a missing key is S3's 403 behind OAC.
    let key = if path == "/" { "index.html" } else { path.trim_start_matches('/') };
    let safe = !key.split('/').any(|s| s == ".." || s.is_empty());
    let file = twin.web_dir.join(key);
    match tokio::fs::read(&file).await {
        Ok(bytes) if safe => {
            let ct = match file.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html",
                Some("css") => "text/css",
                Some("js" | "mjs") => "text/javascript",
                Some("svg") => "image/svg+xml",
                Some("png") => "image/png",
                Some("woff2") => "font/woff2",
                Some("json") => "application/json",
                _ => "application/octet-stream",
            };
            ([("content-type", ct)], bytes).into_response()
        }
        _ => (
            StatusCode::FORBIDDEN,
            [("content-type", "application/xml")],
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
        )
            .into_response(),
    }
}

async fn api(twin: &Twin, peer: SocketAddr, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let Some((function, matched)) = gateway::route(&twin.routes, &method, &path) else {
        return (StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"message": "Not Found"}))).into_response();
    };
    let Some(f) = twin.functions.get(function).cloned() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Ok(body) = axum::body::to_bytes(body, 10 * 1024 * 1024).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(serde_json::json!({"message": "Request Entity Too Large"})))
            .into_response();
    };
    // The viewer's address appended by CloudFront, CloudFront's by API Gateway.
    let viewer = peer.ip().to_string();
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut forwarded = None;
    for (k, v) in &parts.headers {
        let v = v.to_str().unwrap_or_default().to_owned();
        if k.as_str() == "x-forwarded-for" {
            forwarded = Some(v);
        } else if k.as_str() != "host" {
            headers.push((k.as_str().to_owned(), v));
        }
    }
    let cloudfront = "127.0.0.2";
    let xff = match forwarded {
        Some(f) => format!("{f}, {viewer}, {cloudfront}"),
        None => format!("{viewer}, {cloudfront}"),
    };
    headers.push(("x-forwarded-for".into(), xff));
    headers.push(("x-forwarded-proto".into(), "https".into()));
    headers.push(("host".into(), "localapi.execute-api.eu-west-3.amazonaws.com".into()));
    let request_id = format!("{:x}", chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default());
    let event = gateway::event(
        &gateway::Request {
            method: &method,
            path: &path,
            query: &query,
            headers: &headers,
            body: &body,
            source_ip: cloudfront,
            request_id: &request_id,
            now: chrono::Utc::now(),
            account: "123456789012",
            api_id: "localapi",
            domain: "localapi.execute-api.eu-west-3.amazonaws.com",
        },
        &matched,
    );
    let started = std::time::Instant::now();
    // The invocation runs to its end even when the viewer goes away (a page left while its
    // calls are in flight), as in Lambda: dropped with the request, it killed its instance.
    let payload = event.to_string().into_bytes();
    let outcome = tokio::spawn(async move { f.invoke(payload, "HttpApi").await })
        .await
        .unwrap_or_else(|e| Err(format!("the invocation's task failed: {e}")));
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let answer = outcome.and_then(|a| gateway::response(&a));
    let status = answer.as_ref().map_or(500, |a| a.status);
    tracing::info!(route = %matched.route_key, function, ms, status, "served");
    if let Ok(mut served) = twin.served.lock() {
        served.entry(matched.route_key.clone()).or_default().push((status, ms));
    }
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(function, error = %e, "the integration failed");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(serde_json::json!({"message": "Internal Server Error"})),
            )
                .into_response();
        }
    };
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (k, v) in answer.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            response.headers_mut().append(k, v);
        }
    }
    response
}
