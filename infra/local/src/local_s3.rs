//! The local S3 server: the S3 API served from a folder by `s3s-fs`, with signature checks
//! (presigned URLs included: their signed headers and their expiry), so the documents' code
//! runs against it exactly as against S3. The portal serves it on its own port under
//! `/documents/` (the bucket) so the browser uploads to the same origin; tests may also start it
//! on a port of its own.

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use edge::files::{LOCAL_ACCESS_KEY, LOCAL_BUCKET, LOCAL_SECRET_KEY};
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use std::convert::Infallible;
use std::path::Path;
use tower::ServiceExt;

/// The S3 service over `root` (the bucket is the folder `root/documents`).
pub fn service(root: &Path) -> std::io::Result<S3Service> {
    std::fs::create_dir_all(root.join(LOCAL_BUCKET))?;
    let fs = s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY));
    Ok(builder.build())
}

/// The service as an axum route.
pub fn route(s3: S3Service) -> axum::routing::MethodRouter {
    let handler = move |req: Request<Body>| {
        let s3 = s3.clone();
        async move {
            Ok::<_, Infallible>(match s3.oneshot(req).await {
                Ok(res) => res.map(Body::new),
                Err(e) => {
                    tracing::warn!(error = ?e, "local S3 failed");
                    let mut res = Response::new(Body::from("local S3 error"));
                    *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                    res
                }
            })
        }
    };
    axum::routing::any_service(tower::service_fn(handler)).layer(
        // As the bucket's CORS rule in AWS: the browser may PUT and GET from the portal's pages
        // (here whatever name the portal was opened by: localhost or 127.0.0.1).
        tower_http::cors::CorsLayer::new()
            .allow_origin(tower_http::cors::Any)
            .allow_methods([axum::http::Method::GET, axum::http::Method::PUT, axum::http::Method::HEAD])
            .allow_headers([axum::http::header::CONTENT_TYPE]),
    )
}

/// Serves the S3 API on a port of its own on 127.0.0.1; its address.
pub async fn serve(s3: S3Service) -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = axum::Router::new()
        // The bucket itself (a listing), however the client writes it.
        .route(&format!("/{LOCAL_BUCKET}"), route(s3.clone()))
        .route(&format!("/{LOCAL_BUCKET}/"), route(s3.clone()))
        .route(&format!("/{LOCAL_BUCKET}/{{*key}}"), route(s3));
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "local S3 stopped");
        }
    });
    Ok((url, task))
}
