//! The whole portal on one machine: every function's router on one port, the embedded store
//! in a data folder, the web pages, and a demo town loaded on first start.

use axum::Router;
use axum::handler::HandlerWithoutStateExt;
use serde::Deserialize;
use shared::domain::config::Town;
use shared::domain::family::{Child, Family};
use shared::store::embedded::EmbeddedStore;
use shared::store::repo::{self, Towns};
use shared::store::{Store, StoreError};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tower_http::services::ServeDir;

/// The demo town, as the seed's town runs it.
pub const DEMO_TOWN: &str = include_str!("../demo/town.json");
/// Its families: three children in one, separated parents sharing a child, a non-resident.
pub const DEMO_FAMILIES: &str = include_str!("../demo/families.json");
/// The operator token of local runs, printed at start; never used in AWS.
pub const LOCAL_OPERATOR_TOKEN: &str = "jeton-exploitant-local-demo";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoFamilies {
    pub children: Vec<Child>,
    pub families: Vec<Family>,
}

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
    pub web_dir: PathBuf,
    pub operator_token: String,
}

/// A running portal's parts: the router to serve and the store behind it.
pub struct Portal {
    pub router: Router,
    pub store: Store,
    pub demo_town: Option<Town>,
}

/// The demo town and families, parsed and cross-checked.
pub fn demo_data() -> Result<(Town, DemoFamilies), Error> {
    let town = Town::parse(DEMO_TOWN.as_bytes()).map_err(|e| Error::Demo(format!("town.json: {e}")))?;
    let data: DemoFamilies =
        shared::json::parse(DEMO_FAMILIES.as_bytes()).map_err(|e| Error::Demo(format!("families.json: {e}")))?;
    for f in &data.families {
        for c in &f.children {
            if !data.children.iter().any(|k| &k.id == c) {
                return Err(Error::Demo(format!("family {} lists unknown child {c}", f.reference)));
            }
        }
    }
    for c in &data.children {
        for e in &c.enrolments {
            let activity = town.config().activities.iter().find(|a| a.id == e.activity);
            let ok = activity.is_some_and(|a| {
                a.sites.contains(&e.site) && e.units.iter().all(|u| a.units.iter().any(|x| &x.id == u))
            });
            if !ok || e.to < e.from {
                return Err(Error::Demo(format!("child {}: bad enrolment {e:?}", c.id)));
            }
        }
    }
    Ok((town, data))
}

async fn load_demo(towns: &Towns) -> Result<Town, Error> {
    let (town, data) = demo_data()?;
    if towns.get(town.id()).await?.is_none() {
        towns.put(&town).await?;
        for c in &data.children {
            repo::put_child(towns.store(), town.id(), c).await?;
        }
        for f in &data.families {
            repo::put_family(towns.store(), town.id(), f).await?;
        }
        tracing::info!(town = %town.id(), "demo town loaded");
    }
    Ok(town)
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
    let store = open_store(&opts.data_dir, opts.reset)?;
    // One process owns the file, so nothing changes behind the cache: it can live long.
    let towns = Towns::new(store.clone(), Duration::from_secs(3600));
    let demo_town = if opts.demo { Some(load_demo(&towns).await?) } else { None };
    let api = Router::new().merge(towns::router(towns::AppState::new(towns, Some(&opts.operator_token))));
    let files = ServeDir::new(&opts.web_dir).not_found_service(shared::http::not_found.into_service());
    let router = shared::http::finish(api).fallback_service(files);
    Ok(Portal { router, store, demo_town })
}
