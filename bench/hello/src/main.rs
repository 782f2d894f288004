//! A bare `lambda_http` function answering « hello » to every request: what a Lambda costs at
//! start-up before any code of ours. `bench/coldstart.py` compares each function to it.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_: Request| async {
        Response::builder()
            .status(200)
            .header("content-type", "text/plain")
            .body(Body::from("hello"))
            .map_err(Error::from)
    }))
    .await
}
