//! A login's CPU: the Argon2id verification of a password (m = 19 MiB, t = 2, p = 1), the one
//! CPU-bound step of any request, which sets the `accounts` function's memory size (a Lambda's
//! CPU share grows with its memory). Run: `cargo bench -p e2e --bench login`.

use criterion::{Criterion, criterion_group, criterion_main};
use domain::account::Password;

fn login(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let password = "les lilas du jardin";
    let stored = rt.block_on(edge::auth::password::hash(Password::parse(password).expect("password")));
    assert!(rt.block_on(edge::auth::password::verify(password.to_owned(), Some(stored.clone()))));
    c.bench_function("Argon2id verification of a password (one login)", |b| {
        b.to_async(&rt).iter(|| async { edge::auth::password::verify(password.to_owned(), Some(stored.clone())).await })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = login
}
criterion_main!(benches);
