//! Lambda's side: each function's instances, one process each, every one served its own
//! Runtime API (`next`, `response`, `error`, `init/error`), one invocation at a time; a new
//! instance (a cold start) when none is idle, an instance stopped once idle for a while.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// What an invocation ended with: the function's answer, or its error's body.
pub type Outcome = Result<Vec<u8>, String>;

struct Invocation {
    id: String,
    payload: Vec<u8>,
    deadline_ms: u64,
    reply: oneshot::Sender<Outcome>,
}

/// One function's configuration for its instances.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub binary: PathBuf,
    pub env: BTreeMap<String, String>,
    pub timeout: Duration,
    pub memory_mb: u64,
}

/// What the twin counted for a function.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Counts {
    pub cold_starts: u64,
    pub invocations: u64,
    pub errors: u64,
    pub stopped_idle: u64,
    /// Each cold start's time to the instance's first `next`, in milliseconds.
    pub init_ms: Vec<u64>,
    /// Each cold start's first invocation: its first `next` to its answer, in milliseconds (the
    /// first use of each client: connections, TLS, caches filled).
    pub first_invocation_ms: Vec<u64>,
    /// Invocations by what made them: `HttpApi`, or the template's name of the schedule, stream
    /// or topic event (`EveryMinute`, `Outbox`, `DeliveryEvents`).
    pub by_event: BTreeMap<String, u64>,
}

struct Instance {
    tx: mpsc::Sender<Invocation>,
    child: tokio::process::Child,
    idle_since: Instant,
}

/// A function's instances.
pub struct Function {
    spec: Spec,
    idle: Mutex<Vec<Instance>>,
    counts: Mutex<Counts>,
    ids: AtomicU64,
}

/// The Runtime API state of one instance.
struct Runtime {
    rx: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    function_arn: String,
    started: Instant,
    first_next: Mutex<Option<Duration>>,
    init_error: Mutex<Option<String>>,
}

impl Function {
    pub fn new(spec: Spec) -> Arc<Function> {
        Arc::new(Function { spec, idle: Mutex::default(), counts: Mutex::default(), ids: AtomicU64::new(0) })
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn counts(&self) -> Counts {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn count(&self, f: impl FnOnce(&mut Counts)) {
        if let Ok(mut c) = self.counts.lock() {
            f(&mut c);
        }
    }

    /// Starts a new instance: its Runtime API on a port of its own, then its process.
    async fn start(self: &Arc<Self>) -> Result<(Instance, Arc<Runtime>), String> {
        let (tx, rx) = mpsc::channel(1);
        let account = "123456789012";
        let runtime = Arc::new(Runtime {
            rx: tokio::sync::Mutex::new(rx),
            pending: Mutex::default(),
            function_arn: format!("arn:aws:lambda:eu-west-3:{account}:function:{}", self.spec.name),
            started: Instant::now(),
            first_next: Mutex::default(),
            init_error: Mutex::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let api = listener.local_addr().map_err(|e| e.to_string())?;
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(runtime.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        let mut cmd = tokio::process::Command::new(&self.spec.binary);
        cmd.env_clear()
            .envs(&self.spec.env)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &self.spec.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", self.spec.memory_mb.to_string())
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", self.spec.name))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("local/{n}"))
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
            .env("_HANDLER", "bootstrap")
            .env("LAMBDA_TASK_ROOT", "/var/task")
            .env("TZ", ":UTC")
            .kill_on_drop(true);
        let child = cmd.spawn().map_err(|e| format!("{}: {e}", self.spec.binary.display()))?;
        self.count(|c| c.cold_starts += 1);
        tracing::info!(function = %self.spec.name, instance = n, "cold start");
        Ok((Instance { tx, child, idle_since: Instant::now() }, runtime))
    }

    /// Invokes the function with `payload`, sent by the event `source`: on an idle instance,
    /// else a new one.
    pub async fn invoke(self: &Arc<Self>, payload: Vec<u8>, source: &str) -> Outcome {
        let taken = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let (mut instance, runtime) = match taken {
            Some(i) => (i, None),
            None => {
                let (i, r) = self.start().await?;
                (i, Some(r))
            }
        };
        let (reply, answer) = oneshot::channel();
        let id = format!("{:016x}-{}", rand_id(), self.ids.fetch_add(1, Ordering::Relaxed));
        let deadline_ms = u64::try_from(
            (std::time::SystemTime::now() + self.spec.timeout)
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis(),
        )
        .unwrap_or(u64::MAX);
        self.count(|c| {
            c.invocations += 1;
            *c.by_event.entry(source.to_owned()).or_default() += 1;
        });
        let sent = instance.tx.send(Invocation { id, payload, deadline_ms, reply }).await;
        let outcome = match sent {
            Err(_) => Err("the instance is gone".to_owned()),
            Ok(()) => tokio::select! {
                a = answer => a.unwrap_or_else(|_| Err("the instance ended without answering".to_owned())),
                _ = tokio::time::sleep(self.spec.timeout) => Err(format!("Task timed out after {} seconds", self.spec.timeout.as_secs())),
                status = instance.child.wait() => Err(format!("the instance exited: {status:?}")),
            },
        };
        if let Some(r) = runtime {
            let init = r.first_next.lock().ok().and_then(|f| *f);
            if let Some(d) = init {
                let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
                let first = r.started.elapsed().saturating_sub(d);
                self.count(|c| {
                    c.init_ms.push(ms(d));
                    c.first_invocation_ms.push(ms(first));
                });
            }
            if let Some(e) = r.init_error.lock().ok().and_then(|e| e.clone()) {
                tracing::error!(function = %self.spec.name, error = %e, "init error");
            }
        }
        let alive = matches!(instance.child.try_wait(), Ok(None));
        match &outcome {
            Ok(_) if alive => {
                instance.idle_since = Instant::now();
                if let Ok(mut idle) = self.idle.lock() {
                    idle.push(instance);
                }
            }
            Ok(_) => {}
            Err(e) => {
                self.count(|c| c.errors += 1);
                tracing::warn!(function = %self.spec.name, error = %e, "invocation failed");
                // A failed invocation's instance is not reused (Lambda restarts a crashed one).
                let _ = instance.child.start_kill();
            }
        }
        outcome
    }

    /// Stops the instances idle for longer than `after`.
    pub fn reap(&self, after: Duration) {
        let Ok(mut idle) = self.idle.lock() else { return };
        let before = idle.len();
        idle.retain_mut(|i| {
            let keep = i.idle_since.elapsed() < after;
            if !keep {
                let _ = i.child.start_kill();
            }
            keep
        });
        let stopped = (before - idle.len()) as u64;
        drop(idle);
        if stopped > 0 {
            self.count(|c| c.stopped_idle += stopped);
        }
    }

    /// Stops every instance.
    pub fn stop_all(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            for i in idle.iter_mut() {
                let _ = i.child.start_kill();
            }
            idle.clear();
        }
    }
}

fn rand_id() -> u64 {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b)
}

async fn next(State(rt): State<Arc<Runtime>>) -> Response {
    if let Ok(mut f) = rt.first_next.lock()
        && f.is_none()
    {
        *f = Some(rt.started.elapsed());
    }
    let mut rx = rt.rx.lock().await;
    let Some(inv) = rx.recv().await else {
        return StatusCode::GONE.into_response();
    };
    drop(rx);
    let mut headers = HeaderMap::new();
    let mut set = |k: &'static str, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            headers.insert(k, v);
        }
    };
    set("lambda-runtime-aws-request-id", &inv.id);
    set("lambda-runtime-deadline-ms", &inv.deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", &rt.function_arn);
    set("lambda-runtime-trace-id", &format!("Root=1-00000000-{:024x};Sampled=0", rand_id()));
    if let Ok(mut p) = rt.pending.lock() {
        p.insert(inv.id, inv.reply);
    }
    (StatusCode::OK, headers, inv.payload).into_response()
}

fn settle(rt: &Runtime, id: &str, outcome: Outcome) -> StatusCode {
    match rt.pending.lock().ok().and_then(|mut p| p.remove(id)) {
        Some(reply) => {
            let _ = reply.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn respond(State(rt): State<Arc<Runtime>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    settle(&rt, &id, Ok(body.to_vec()))
}

async fn fail(State(rt): State<Arc<Runtime>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    settle(&rt, &id, Err(String::from_utf8_lossy(&body).into_owned()))
}

async fn init_error(State(rt): State<Arc<Runtime>>, body: Bytes) -> StatusCode {
    if let Ok(mut e) = rt.init_error.lock() {
        *e = Some(String::from_utf8_lossy(&body).into_owned());
    }
    StatusCode::ACCEPTED
}
