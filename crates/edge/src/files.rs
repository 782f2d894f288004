//! The documents' bucket (documents and news attachments), through the S3 SDK, and the checks
//! of a file announced and received: the same code against AWS and against the local
//! S3 server (`infra/local`), which checks signatures and presigned URLs like S3 does.
//!
//! Object keys are chosen by the server, never by the browser: `uploads/<town>/<family>/<id>`
//! while a file waits for its confirmation (a lifecycle rule deletes what is never confirmed),
//! then `documents/<town>/<family>/<id>`.

use crate::http::Problem;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::types::MetadataDirective;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use domain::documents::{FileType, check_file_name, name_for_type};
use domain::{FamilyRef, TownId};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// How long a presigned URL stays valid, by default.
pub const URL_TTL: Duration = Duration::from_secs(5 * 60);

/// The local S3 server's credentials (`infra/local`); never used in AWS.
pub const LOCAL_ACCESS_KEY: &str = "espace-famille-local";
pub const LOCAL_SECRET_KEY: &str = "secret-du-stockage-local-de-demo";
/// The local bucket's name.
pub const LOCAL_BUCKET: &str = "documents";

/// A failed call to S3 (logged; the guardian is asked to retry).
#[derive(Debug, thiserror::Error)]
#[error("s3: {0}")]
pub struct FilesError(pub String);

fn fail(e: impl std::fmt::Display) -> FilesError {
    FilesError(e.to_string())
}

/// A request the browser makes itself: where, how, which headers, until when.
#[derive(Debug, Clone, Serialize)]
pub struct Presigned {
    pub method: &'static str,
    pub url: String,
    /// Headers the browser must send as signed (Content-Length is set by the browser itself
    /// from the file, and is signed too).
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

/// What S3 says of a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub size: u64,
    pub content_type: Option<String>,
}

/// What a confirmation finds in the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Nothing at that key (not sent, or the URL was refused).
    Nothing,
    /// Another size or type than announced, or bytes that are not of that type.
    Mismatch,
    /// The announced file.
    Ok,
}

#[derive(Clone)]
pub struct Files {
    /// Built on first use: an S3 client costs a cold start about 0.7 ms that the requests
    /// without a file (most of them) need not pay (docs/performance.md, « Cold start »).
    client: std::sync::Arc<tokio::sync::OnceCell<Client>>,
    bucket: String,
    /// How long the presigned URLs given out stay valid.
    pub url_ttl: Duration,
}

impl Files {
    pub fn new(client: Client, bucket: impl Into<String>) -> Files {
        let client = std::sync::Arc::new(tokio::sync::OnceCell::new_with(Some(client)));
        Files { client, bucket: bucket.into(), url_ttl: URL_TTL }
    }

    /// The bucket named by `DOCUMENTS_BUCKET`, with the Lambda's credentials; the client is
    /// built from the environment when a request first needs it.
    pub async fn from_env() -> Result<Files, String> {
        let bucket = crate::lambda::env("DOCUMENTS_BUCKET")?;
        Ok(Files { client: std::sync::Arc::default(), bucket, url_ttl: URL_TTL })
    }

    async fn client(&self) -> &Client {
        self.client.get_or_init(|| async { Client::new(&store::aws::sdk_config().await) }).await
    }

    /// The local S3 server at `endpoint` (path-style addresses: `<endpoint>/<bucket>/<key>`).
    pub fn local(endpoint: &str, bucket: &str) -> Files {
        let creds = aws_sdk_s3::config::Credentials::new(LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY, None, None, "local");
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .http_client(store::aws::https_client())
            .endpoint_url(endpoint)
            .region(aws_sdk_s3::config::Region::new("eu-west-3"))
            .credentials_provider(creds)
            .force_path_style(true)
            .build();
        Files::new(Client::from_conf(config), bucket)
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Where a file waits for its confirmation.
    pub fn upload_key(town: &TownId, family: &FamilyRef, id: &str) -> String {
        format!("uploads/{town}/{family}/{id}")
    }

    /// Where a confirmed document is kept.
    pub fn document_key(town: &TownId, family: &FamilyRef, id: &str) -> String {
        format!("documents/{town}/{family}/{id}")
    }

    fn presigning(&self) -> Result<(PresigningConfig, DateTime<Utc>), FilesError> {
        // Presigned URLs live in real time (S3 checks them against its own clock), whatever
        // the portal's business clock says.
        let start = SystemTime::now();
        let config = PresigningConfig::builder().start_time(start).expires_in(self.url_ttl).build().map_err(fail)?;
        Ok((config, DateTime::<Utc>::from(start + self.url_ttl)))
    }

    /// A PUT the browser sends straight to S3: the key, the content type and the exact length
    /// are signed, so S3 refuses any other file.
    pub async fn presign_put(&self, key: &str, file_type: FileType, size: u64) -> Result<Presigned, FilesError> {
        let (config, expires_at) = self.presigning()?;
        let length = i64::try_from(size).map_err(fail)?;
        let req = self
            .client()
            .await
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(file_type.mime())
            .content_length(length)
            .presigned(config)
            .await
            .map_err(fail)?;
        // The browser sends the headers the URL signs (`X-Amz-SignedHeaders`), but the length
        // it sets itself and the host: the SDK adds unsigned ones too (in Lambda, its recursion
        // detection's `x-amzn-trace-id`), which S3 does not need and the bucket's CORS refuses
        // (template.yaml allows `content-type` only).
        let signed: Vec<String> = req
            .uri()
            .split(['?', '&'])
            .find_map(|pair| pair.strip_prefix("X-Amz-SignedHeaders="))
            .map(|v| percent_encoding::percent_decode_str(v).decode_utf8_lossy().to_ascii_lowercase())
            .map(|v| v.split(';').map(str::to_owned).collect())
            .unwrap_or_default();
        let headers = req
            .headers()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
            .filter(|(name, _)| signed.contains(name) && name != "content-length" && name != "host")
            .collect();
        Ok(Presigned { method: "PUT", url: req.uri().to_owned(), headers, expires_at })
    }

    /// A GET of a stored document, saved under its file name.
    pub async fn presign_get(&self, key: &str, file_name: &str, file_type: FileType) -> Result<Presigned, FilesError> {
        let (config, expires_at) = self.presigning()?;
        let encoded = percent_encoding::utf8_percent_encode(file_name, percent_encoding::NON_ALPHANUMERIC);
        let req = self
            .client()
            .await
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type(file_type.mime())
            .response_content_disposition(format!("attachment; filename*=UTF-8''{encoded}"))
            .presigned(config)
            .await
            .map_err(fail)?;
        Ok(Presigned { method: "GET", url: req.uri().to_owned(), headers: BTreeMap::new(), expires_at })
    }

    /// Where a new family's proof of address waits for its check (`-requests` cannot be a
    /// family reference: those never start with a dash).
    pub fn request_proof_upload_key(town: &TownId, request: &str) -> String {
        format!("uploads/{town}/-requests/{request}")
    }

    /// Where a new family's proof of address is kept until the request is decided (at most
    /// `domain::school_year::PROOF_KEPT_DAYS`: the bucket's lifecycle rule on `requests/`).
    pub fn request_proof_key(town: &TownId, request: &str) -> String {
        format!("requests/{town}/{request}")
    }

    /// Where a family's export archive is kept for a day (the bucket's lifecycle deletes it).
    pub fn export_key(town: &TownId, family: &FamilyRef, id: &str) -> String {
        format!("{}{id}.zip", Files::exports_of(town, family))
    }

    /// Where a family's export archives are kept: erased with its data (not left to the bucket's
    /// lifecycle rule, which the local S3 server does not run).
    pub fn exports_of(town: &TownId, family: &FamilyRef) -> String {
        format!("exports/{town}/{family}/")
    }

    /// The keys of the objects whose key starts with `prefix`, every page.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, FilesError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client()
                .await
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| fail(aws_sdk_s3::error::DisplayErrorContext(e)))?;
            keys.extend(out.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(keys)
    }

    /// Stores bytes the function made (an export archive).
    pub async fn put_bytes(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), FilesError> {
        self.client()
            .await
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(bytes.into())
            .send()
            .await
            .map_err(|e| fail(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    /// A whole object (a document put in an export archive).
    pub async fn get_bytes(&self, key: &str) -> Result<Vec<u8>, FilesError> {
        let out = self
            .client()
            .await
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| fail(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(out.body.collect().await.map_err(fail)?.into_bytes().to_vec())
    }

    /// The first `n` bytes of an object (the headers of a message too large to read whole).
    pub async fn get_range(&self, key: &str, n: u64) -> Result<Vec<u8>, FilesError> {
        let out = self
            .client()
            .await
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes=0-{}", n.saturating_sub(1)))
            .send()
            .await
            .map_err(|e| fail(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(out.body.collect().await.map_err(fail)?.into_bytes().to_vec())
    }

    /// A GET of an export archive, saved under `file_name`.
    pub async fn presign_get_archive(&self, key: &str, file_name: &str) -> Result<Presigned, FilesError> {
        let (config, expires_at) = self.presigning()?;
        let req = self
            .client()
            .await
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type("application/zip")
            .response_content_disposition(format!("attachment; filename=\"{file_name}\""))
            .presigned(config)
            .await
            .map_err(fail)?;
        Ok(Presigned { method: "GET", url: req.uri().to_owned(), headers: BTreeMap::new(), expires_at })
    }

    /// The object's size and type; `None` when there is no such object.
    pub async fn head(&self, key: &str) -> Result<Option<Head>, FilesError> {
        match self.client().await.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => Ok(Some(Head {
                size: out.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                content_type: out.content_type().map(str::to_owned),
            })),
            Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(None),
            Err(e) => Err(fail(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    /// Whether the object at `key` is the announced file: that size, that type, and bytes of
    /// that type from the first to the last ([`FileType::verify`]: an executable renamed `.pdf`
    /// or an HTML page starting with `%PDF` is not a PDF). The size was bounded when the upload
    /// was signed.
    pub async fn received(&self, key: &str, size: u64, file_type: FileType) -> Result<Received, FilesError> {
        let Some(head) = self.head(key).await? else { return Ok(Received::Nothing) };
        let same_type = head.content_type.as_deref().and_then(FileType::parse) == Some(file_type);
        if head.size != size || !same_type {
            return Ok(Received::Mismatch);
        }
        let bytes = self.get_bytes(key).await?;
        Ok(if file_type.verify(&bytes) { Received::Ok } else { Received::Mismatch })
    }

    /// Where a news article's attachment waits for its confirmation, then is kept (`-news`
    /// cannot be a family reference: those never start with a dash).
    pub fn news_upload_key(town: &TownId, article: &str, id: &str) -> String {
        format!("uploads/{town}/-news/{article}/{id}")
    }
    pub fn news_key(town: &TownId, article: &str, id: &str) -> String {
        format!("documents/{town}/-news/{article}/{id}")
    }

    /// Copies `from` to `to` inside the bucket, with the given type.
    pub async fn copy(&self, from: &str, to: &str, file_type: FileType) -> Result<(), FilesError> {
        self.client()
            .await
            .copy_object()
            .bucket(&self.bucket)
            .key(to)
            .copy_source(format!("{}/{from}", self.bucket))
            .content_type(file_type.mime())
            .metadata_directive(MetadataDirective::Replace)
            .send()
            .await
            .map_err(|e| fail(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    /// Deletes an object (nothing to do when it is already gone).
    pub async fn delete(&self, key: &str) -> Result<(), FilesError> {
        self.client()
            .await
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| fail(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }
}

/// How a presigned upload ended (see [`Files::keep`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// The announced file, now at its kept key.
    Copied,
    /// Not what was announced: the upload was deleted; the caller forgets its record and
    /// answers [`content_mismatch`].
    Mismatch,
}

impl Files {
    /// Ends a presigned upload: checks what `upload` holds against the announced size and type
    /// (and its first bytes), then copies it to `kept`. Nothing there is a 409 the guardian
    /// can retry; a file not as announced is deleted.
    pub async fn keep(&self, upload: &str, kept: &str, size: u64, file_type: FileType) -> Result<Kept, Problem> {
        match self.received(upload, size, file_type).await.map_err(files_unavailable)? {
            Received::Nothing => Err(not_received()),
            Received::Mismatch => {
                self.delete(upload).await.map_err(files_unavailable)?;
                Ok(Kept::Mismatch)
            }
            Received::Ok => {
                self.copy(upload, kept, file_type).await.map_err(files_unavailable)?;
                Ok(Kept::Copied)
            }
        }
    }
}

/// A file announced for upload: its name (cleaned, with its type's extension: the name never
/// chooses how the file is opened), its type among PDF, JPEG and PNG, its size within
/// `max_bytes`.
pub fn check_file(
    file_name: &str,
    content_type: &str,
    size: u64,
    max_bytes: u64,
) -> Result<(String, FileType), Problem> {
    let invalid = |code: &'static str, field: &str, message: String| Problem::unprocessable(code, message).field(field);
    let file_name = check_file_name(file_name)?;
    let file_type = FileType::parse(content_type).ok_or_else(|| {
        invalid("unsupported_file_type", "content_type", "Seuls les fichiers PDF, JPEG et PNG sont acceptés.".into())
    })?;
    if size == 0 {
        return Err(invalid("empty_file", "size", "Le fichier est vide.".into()));
    }
    if size > max_bytes {
        return Err(invalid(
            "file_too_large",
            "size",
            format!("Le fichier dépasse la taille maximale de {} Mo.", max_bytes.div_ceil(1024 * 1024)),
        ));
    }
    Ok((name_for_type(&file_name, file_type), file_type))
}

pub fn not_received() -> Problem {
    Problem::new(StatusCode::CONFLICT, "file_not_received", "Le fichier n'a pas été reçu : envoyez-le à nouveau.")
}

pub fn content_mismatch(t: FileType) -> Problem {
    Problem::unprocessable(
        "file_content_mismatch",
        format!("Ce fichier n'est pas {} valide : il a été supprimé. Envoyez le document au bon format.", type_name(t)),
    )
}

fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::Pdf => "un PDF",
        FileType::Jpeg => "une image JPEG",
        FileType::Png => "une image PNG",
    }
}

/// S3 did not answer: logged, and the guardian is asked to retry.
pub fn files_unavailable(e: FilesError) -> Problem {
    tracing::warn!(error = %e, "document storage unavailable");
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "files_unavailable",
        "Le stockage des documents ne répond pas : réessayez dans quelques instants.",
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, reason = "a test: a failure is the test failing")]
    use super::*;

    /// In Lambda, the SDK adds `x-amzn-trace-id` to every request (its recursion detection,
    /// from the invocation's `_X_AMZN_TRACE_ID`), presigned ones included, without signing it.
    /// Handed to the browser, it made the upload's CORS preflight fail: the bucket's CORS allows
    /// `content-type` only (template.yaml), so no family could send a document from the pages.
    /// Found by the browser journey through the stack twin. The test runs itself again in a
    /// process with Lambda's variables (a test may not change its own environment).
    #[tokio::test]
    async fn a_presigned_upload_asks_the_browser_for_its_signed_headers_only() {
        if std::env::var_os("_X_AMZN_TRACE_ID").is_none() {
            let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
                .args(["--exact", "files::tests::a_presigned_upload_asks_the_browser_for_its_signed_headers_only"])
                .env("AWS_LAMBDA_FUNCTION_NAME", "DocumentsFunction")
                .env("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
                .output()
                .expect("the test runs again");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success() && text.contains("1 passed"), "in Lambda's environment:\n{text}");
            return;
        }
        let files = Files::local("http://127.0.0.1:9", "documents");
        let p = files.presign_put("uploads/t/f/1", FileType::Pdf, 10).await.expect("presigned");
        assert_eq!(p.headers.keys().map(String::as_str).collect::<Vec<_>>(), ["content-type"], "{p:?}");
        assert_eq!(p.headers["content-type"], "application/pdf");
    }
}
