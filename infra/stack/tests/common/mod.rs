//! What the twin's tests share: the twin started on a free port (stopped when dropped), and
//! HTTP through it with curl, as a viewer reaches CloudFront.

#![allow(dead_code, reason = "each test binary uses its part")]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The twin, running.
pub struct Twin {
    pub base: String,
    child: std::process::Child,
}

impl Drop for Twin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Twin {
    /// Starts the twin from template.yaml with the demo town and `args`, once the functions'
    /// binaries and moto are there; `None` (the test then passes, saying so) when they are not and
    /// EF_REQUIRE_STACK is not set.
    #[allow(clippy::print_stderr, reason = "says why the test did not run")]
    pub fn start(args: &[&str]) -> Option<Twin> {
        let twin = PathBuf::from(env!("CARGO_BIN_EXE_espace-famille-stack"));
        let bins = twin.parent().expect("the binaries' folder").to_owned();
        let root = root();
        let missing: Vec<&str> = ["towns", "accounts", "calendar", "basket", "invoices", "operations", "notifier"]
            .into_iter()
            .filter(|b| !bins.join(b).exists())
            .collect();
        let python = root.join(".venv/bin/python");
        if !missing.is_empty() || !python.exists() {
            assert!(
                std::env::var_os("EF_REQUIRE_STACK").is_none(),
                "the twin needs every function's binary (missing: {missing:?}; cargo build --workspace --bins) and moto in .venv"
            );
            eprintln!("SKIPPED: the stack twin (missing binaries {missing:?} or .venv)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let child = std::process::Command::new(&twin)
            .current_dir(&root)
            .args(["--addr", &format!("127.0.0.1:{port}"), "--demo"])
            .args(args)
            .arg("--bin-dir")
            .arg(&bins)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the twin starts");
        let running = Twin { base: format!("http://127.0.0.1:{port}"), child };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(120), "the twin did not listen within two minutes");
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(running)
    }

    /// The certificate of the twin's HTTPS endpoint for AWS (a presigned URL's).
    pub fn ca_file(&self) -> PathBuf {
        std::env::temp_dir().join(format!("espace-famille-stack-{}.pem", self.child.id()))
    }

    /// moto's address (the tests read what SES was given from it).
    pub fn moto(&self) -> String {
        curl_json(&format!("{}/__stack/aws", self.base))["endpoint"].as_str().unwrap_or_default().to_owned()
    }

    /// Every function's counts (`/__stack/counts`).
    pub fn counts(&self) -> Value {
        curl_json(&format!("{}/__stack/counts", self.base))
    }

    /// The emails moto's SES was given (SES v2 `Raw` content, `ses.RawMessage`), each read as
    /// « recipients / sender / subject », one a line.
    pub fn sent(&self, moto: &str) -> String {
        sent_by_moto(moto)
    }
}

/// What moto's SES was given, each message « recipients / sender / subject », one a line.
pub fn sent_by_moto(moto: &str) -> String {
    let data = curl_json(&format!("{moto}/moto-api/data.json"));
    let mut out = String::new();
    for m in data["ses"]["RawMessage"].as_array().into_iter().flatten() {
        let raw = m["raw_data"].as_str().unwrap_or_default();
        let subject = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .and_then(|p| p.subject().map(str::to_owned))
            .unwrap_or_default();
        out.push_str(&format!("{} / {} / {subject}\n", m["destinations"], m["source"]));
    }
    out
}

/// The functions whose counts (`/__stack/counts`) record an error, each « name: counts ».
pub fn failed(counts: &Value) -> Vec<String> {
    counts
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, c)| c["errors"].as_u64().unwrap_or(0) > 0)
        .map(|(f, c)| format!("{f}: {c}"))
        .collect()
}

pub fn curl_json(url: &str) -> Value {
    let out = std::process::Command::new("curl").args(["-sS", url]).output().expect("curl");
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// An answer read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// Header names in lower case, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// One request with curl: `headers`, a body; `extra` curl arguments (`--cacert …`).
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>, extra: &[&str]) -> Answer {
    let dir = tempfile::tempdir().expect("tempdir");
    let (h, b, d) = (dir.path().join("h"), dir.path().join("b"), dir.path().join("d"));
    let mut cmd = std::process::Command::new("curl");
    cmd.args(["-sS", "-X", method, "-w", "%{http_code}"]).arg("-D").arg(&h).arg("-o").arg(&b).args(extra);
    for (k, v) in headers {
        cmd.arg("-H").arg(format!("{k}: {v}"));
    }
    if let Some(body) = body {
        std::fs::write(&d, body).expect("the body written");
        cmd.arg("--data-binary").arg(format!("@{}", d.display()));
    }
    let out = cmd.arg(url).output().expect("curl");
    let status = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0);
    let headers = std::fs::read_to_string(&h)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer { status, headers, body: std::fs::read(&b).unwrap_or_default() }
}

/// A signed-in viewer: its cookies and CSRF token.
pub struct Session<'a> {
    twin: &'a Twin,
    cookie: String,
    csrf: String,
}

impl<'a> Session<'a> {
    /// Signs in through the twin (the session cookie from API Gateway's `cookies`).
    pub fn login(twin: &'a Twin, town: &str, email: &str, password: &str) -> Session<'a> {
        let body = serde_json::json!({"email": email, "password": password}).to_string();
        let url = format!("{}/api/towns/{town}/auth/login", twin.base);
        let r = http("POST", &url, &[("content-type", "application/json")], Some(body.as_bytes()), &[]);
        assert_eq!(r.status, 200, "{email} signs in: {}", String::from_utf8_lossy(&r.body));
        let cookie = r
            .headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .filter_map(|(_, v)| v.split(';').next())
            .collect::<Vec<_>>()
            .join("; ");
        assert!(!cookie.is_empty(), "a session cookie set through the gateway");
        let csrf = r.json()["csrf_token"].as_str().unwrap_or_default().to_owned();
        Session { twin, cookie, csrf }
    }

    /// Any request with the session, `path` under the portal.
    pub fn send(&self, method: &str, path: &str, body: Option<Value>, extra: &[(&str, &str)]) -> Answer {
        let mut hs = vec![("cookie", self.cookie.as_str()), ("x-csrf-token", self.csrf.as_str())];
        if body.is_some() {
            hs.push(("content-type", "application/json"));
        }
        hs.extend_from_slice(extra);
        let body = body.map(|b| b.to_string().into_bytes());
        http(method, &format!("{}{path}", self.twin.base), &hs, body.as_deref(), &[])
    }

    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    pub fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None, &[])
    }

    pub fn post(&self, path: &str, body: Value) -> Answer {
        self.send("POST", path, Some(body), &[])
    }
}

/// Waits until `ready` answers `Some`, at most `within`; `what` names it in the failure.
pub fn wait_for<T>(within: Duration, what: &str, mut ready: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(t) = ready() {
            return t;
        }
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
