//! The `news` function: « Actualités ». Staff write articles (title, a safe subset of Markdown,
//! a category), publish them now or at a date, pin them, let them expire, edit and delete them;
//! everyone reads the town's published, unexpired articles, pinned first, newest next, a page at
//! a time. An exceptional closure published as news can also close the dates for booking (town
//! administrators only: it changes the town's calendar). Every staff action is audited.

pub mod attachments;
pub mod markdown;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json as AxumJson, Router};
use chrono::{DateTime, Days, Utc};
use domain::TownId;
use domain::account::Role;
use domain::calendar::Closure;
use domain::config::{Town, TownConfig};
use edge::http::auth::{AuthState, Staff};
use edge::http::{self, Json, Path, Problem};
use serde::{Deserialize, Serialize};
use store::audit;
use store::repo::Towns;
use store::{Cond, Item, Key, Query as StoreQuery, SkRange, StoreError, WriteOp, keys};

/// Articles per page, by default and at most.
pub const PER_PAGE: usize = 10;
pub const MAX_PER_PAGE: usize = 50;

#[derive(Clone)]
pub struct AppState {
    pub auth: AuthState,
    pub towns: Towns,
    /// The documents' bucket, for attachments.
    pub files: edge::files::Files,
    /// Where the pages are served, for the links in emails (a closure's cancellations).
    pub public_url: String,
}

edge::auth_state_from!(AppState);

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/towns/{town}/news", get(list))
        .route("/api/towns/{town}/news/{id}", get(one))
        .route("/api/towns/{town}/staff/news", get(staff_list).post(create))
        .route("/api/towns/{town}/staff/news/{id}", axum::routing::put(update).delete(remove))
        .route("/api/towns/{town}/news/{id}/attachments/{file}", get(attachments::download))
        .route("/api/towns/{town}/staff/news/{id}/attachments", axum::routing::post(attachments::start))
        .route("/api/towns/{town}/staff/news/{id}/attachments/{file}", axum::routing::delete(attachments::remove))
        .route(
            "/api/towns/{town}/staff/news/{id}/attachments/{file}/confirm",
            axum::routing::post(attachments::confirm),
        )
        .with_state(state)
}

use domain::news as news_rules;
pub use domain::news::{ArticleInput, Category, ClosePeriod};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    pub id: String,
    pub title: String,
    pub body: String,
    /// The body rendered to safe HTML.
    pub html: String,
    pub category: Category,
    pub publish_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    pub pinned: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_booking: Option<ClosePeriod>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    pub version: u64,
    /// Files attached (PDF, JPEG, PNG), stored like documents; see [`attachments`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<attachments::Attachment>,
}

impl Article {
    pub(crate) fn visible(&self, now: DateTime<Utc>) -> bool {
        self.publish_at <= now && self.expires_at.is_none_or(|e| now < e)
    }
    fn status(&self, now: DateTime<Utc>) -> &'static str {
        if self.publish_at > now {
            "scheduled"
        } else if self.expires_at.is_some_and(|e| e <= now) {
            "expired"
        } else {
            "published"
        }
    }
    /// The reason the town's closures carry for this article's dates.
    fn closure_reason(&self) -> String {
        self.title.clone()
    }
}

/// The key of an article.
pub fn article_key(town: &TownId, id: &str) -> Key {
    keys::article(town, id)
}

/// The stored item of an article.
pub fn item(town: &TownId, a: &Article) -> Result<Item, StoreError> {
    Ok(Item::from_value(article_key(town, &a.id), a)?.with_gsi1(Key::new(keys::articles_of(town), a.id.clone())))
}

async fn all_articles(state: &AppState, town: &TownId) -> Result<Vec<Article>, StoreError> {
    state
        .auth
        .store
        .query_all(&StoreQuery::gsi1(keys::articles_of(town), SkRange::All))
        .await
        .map(|items| Item::decode_listed(&items))
}

pub(crate) fn unknown_article() -> Problem {
    Problem::not_found("unknown_article", "Cette actualité est introuvable.")
}

/// What readers see of an article.
#[derive(Serialize)]
struct Published {
    id: String,
    title: String,
    html: String,
    category: Category,
    publish_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<DateTime<Utc>>,
    pinned: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    close_booking: Option<ClosePeriod>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<attachments::Shown>,
}

impl From<Article> for Published {
    fn from(a: Article) -> Published {
        Published {
            id: a.id,
            title: a.title,
            html: a.html,
            category: a.category,
            publish_at: a.publish_at,
            expires_at: a.expires_at,
            pinned: a.pinned,
            close_booking: a.close_booking,
            attachments: a.attachments.iter().map(attachments::Shown::from).collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    page: Option<usize>,
    per_page: Option<usize>,
}

#[derive(Serialize)]
struct PageOf<T> {
    items: Vec<T>,
    page: usize,
    pages: usize,
    total: usize,
}

fn paginate<T>(items: Vec<T>, q: &PageQuery) -> Result<PageOf<T>, Problem> {
    let per_page = q.per_page.unwrap_or(PER_PAGE);
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(Problem::bad_request(
            "invalid_per_page",
            format!("Le nombre d'actualités par page va de 1 à {MAX_PER_PAGE}."),
        )
        .field("per_page"));
    }
    let page = q.page.unwrap_or(1);
    if page == 0 {
        return Err(Problem::bad_request("invalid_page", "Les pages sont numérotées à partir de 1.").field("page"));
    }
    let total = items.len();
    let pages = total.div_ceil(per_page).max(1);
    let items = items.into_iter().skip((page - 1).saturating_mul(per_page)).take(per_page).collect();
    Ok(PageOf { items, page, pages, total })
}

/// The town's published, unexpired articles: pinned first, newest next. Public.
async fn list(
    State(state): State<AppState>,
    Path(town): Path<String>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<PageOf<Published>>, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let town = http::load_town_from_path(&state.towns, &town).await?;
    let now = state.auth.clock.now();
    let mut items: Vec<Article> =
        all_articles(&state, town.id()).await?.into_iter().filter(|a| a.visible(now)).collect();
    items.sort_by(|a, b| (b.pinned, b.publish_at, &b.id).cmp(&(a.pinned, a.publish_at, &a.id)));
    let page = paginate(items.into_iter().map(Published::from).collect(), &q)?;
    Ok(AxumJson(page))
}

async fn one(
    State(state): State<AppState>,
    Path((town, id)): Path<(String, String)>,
) -> Result<AxumJson<Published>, Problem> {
    let town = http::load_town_from_path(&state.towns, &town).await?;
    if !valid_id(&id) {
        return Err(unknown_article());
    }
    let now = state.auth.clock.now();
    let article: Article = state
        .auth
        .store
        .get(&article_key(town.id(), &id))
        .await?
        .map(|i| i.to_value())
        .transpose()?
        .filter(|a: &Article| a.visible(now))
        .ok_or_else(unknown_article)?;
    Ok(AxumJson(article.into()))
}

#[derive(Serialize)]
struct StaffView {
    status: &'static str,
    #[serde(flatten)]
    article: Article,
}

/// Every article of the town, scheduled and expired included, newest first.
async fn staff_list(
    State(state): State<AppState>,
    Staff(caller): Staff,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<AxumJson<PageOf<StaffView>>, Problem> {
    let Query(q) = query.map_err(|_| http::bad_query())?;
    let now = state.auth.clock.now();
    let mut items = all_articles(&state, &caller.town).await?;
    items.sort_by(|a, b| (b.publish_at, &b.id).cmp(&(a.publish_at, &a.id)));
    let views = items.into_iter().map(|a| StaffView { status: a.status(now), article: a }).collect();
    Ok(AxumJson(paginate(views, &q)?))
}

pub(crate) fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The article rules ([`domain::news::check`]) as problems.
fn check(town: &Town, role: Role, input: &ArticleInput, now: DateTime<Utc>) -> Result<(), Problem> {
    news_rules::check(town, role, input, markdown::render(&input.body).len(), now).map_err(Problem::from)
}

/// Who may touch a closure ([`domain::news::closure_change`]) as a problem.
fn closure_change(
    role: Role,
    before: Option<&news_rules::ClosePeriod>,
    after: Option<&news_rules::ClosePeriod>,
    deleted: bool,
) -> Result<(), Problem> {
    news_rules::closure_change(role, before, after, deleted).map_err(Problem::from)
}

/// The town's configuration with `old`'s closure removed and `new`'s added.
fn with_closures(config: &TownConfig, old: Option<&Article>, new: Option<&Article>) -> TownConfig {
    let mut config = config.clone();
    if let Some((a, c)) = old.and_then(|a| a.close_booking.as_ref().map(|c| (a, c))) {
        let reason = a.closure_reason();
        config.closures.retain(|x| !(x.reason == reason && c.from <= x.date && x.date <= c.to));
    }
    if let Some((a, c)) = new.and_then(|a| a.close_booking.as_ref().map(|c| (a, c))) {
        let mut d = c.from;
        while d <= c.to {
            config.closures.push(Closure { date: d, reason: a.closure_reason(), activities: c.activities.clone() });
            let Some(next) = d.checked_add_days(Days::new(1)) else { break };
            d = next;
        }
    }
    config
}

/// Applies the closures an article change implies to the town's calendar (conditioned on the
/// configuration's version, read again when someone else changed it meanwhile).
async fn update_closures(
    state: &AppState,
    town: &Town,
    old: Option<&Article>,
    new: Option<&Article>,
    by: &str,
) -> Result<(), Problem> {
    let closes =
        |a: Option<&Article>| a.and_then(|a| a.close_booking.as_ref().map(|c| (a.closure_reason(), c.clone())));
    if closes(old) == closes(new) {
        return Ok(());
    }
    for _ in 0..5 {
        let Some((current, version)) = state.towns.get_versioned(town.id()).await? else {
            return Err(http::unknown_town());
        };
        let config = with_closures(current.config(), old, new);
        let updated = Town::try_from(config)
            .map_err(|e| Problem::unprocessable("invalid_closure", e.message).field("close_booking"))?;
        // A closure cancels the bookings of its days; a reopening tells their families.
        let now = state.auth.clock.now();
        let jobs = services::operations::config_jobs(&current, &updated, by, updated.today(now));
        let extra = jobs.iter().map(|j| services::operations::job_op(town.id(), j, now)).collect::<Result<_, _>>()?;
        match state.towns.replace(&updated, version, extra).await {
            Ok(_) => {
                let ctx = services::operations::Ctx { store: &state.auth.store, public_url: &state.public_url };
                for job in &jobs {
                    if let Err(e) = services::operations::run(ctx, &updated, job, now).await {
                        tracing::warn!(error = %e, ?job, "job left to the sweep");
                    }
                }
                return Ok(());
            }
            Err(StoreError::TransactionCanceled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::ConditionFailed.into())
}

pub(crate) fn audit_entry(
    by: &str,
    action: &str,
    id: &str,
    before: Option<&Article>,
    after: Option<&Article>,
    at: DateTime<Utc>,
) -> audit::Entry {
    audit::Entry {
        at,
        by: by.to_owned(),
        action: action.to_owned(),
        target: format!("news/{id}"),
        before: before.and_then(snapshot),
        after: after.and_then(snapshot),
    }
}

/// An article as the audit trail keeps it: without its HTML, which its text makes again.
fn snapshot(a: &Article) -> Option<serde_json::Value> {
    let mut v = serde_json::to_value(a).ok()?;
    v.as_object_mut()?.remove("html");
    Some(v)
}

/// The article an input makes (`previous`: the one it replaces).
pub fn build(id: String, input: ArticleInput, by: &str, now: DateTime<Utc>, previous: Option<&Article>) -> Article {
    Article {
        id,
        title: input.title.trim().to_owned(),
        html: markdown::render(&input.body),
        body: input.body,
        category: input.category,
        publish_at: input.publish_at.unwrap_or_else(|| previous.map_or(now, |p| p.publish_at)),
        expires_at: input.expires_at,
        pinned: input.pinned,
        close_booking: input.close_booking,
        created_at: previous.map_or(now, |p| p.created_at),
        created_by: previous.map_or_else(|| by.to_owned(), |p| p.created_by.clone()),
        updated_at: now,
        updated_by: by.to_owned(),
        version: previous.map_or(1, |p| p.version + 1),
        attachments: previous.map(|p| p.attachments.clone()).unwrap_or_default(),
    }
}

async fn create(
    State(state): State<AppState>,
    Staff(caller): Staff,
    body: Result<Json<ArticleInput>, Problem>,
) -> Result<(StatusCode, AxumJson<Article>), Problem> {
    let Json(input) = body?;
    let town = http::load_town(&state.towns, &caller.town).await?;
    let now = state.auth.clock.now();
    check(&town, caller.session.role, &input, now)?;
    let id = format!("{}-{}", now.format("%Y%m%d%H%M%S"), &edge::auth::secret::id()[..8]);
    let by = caller.session.email.as_str();
    let article = build(id, input, by, now, None);
    let entry = audit_entry(by, "news.create", &article.id, None, Some(&article), now);
    state.auth.store.transact(vec![WriteOp::create(item(town.id(), &article)?), entry.record(town.id())?]).await?;
    update_closures(&state, &town, None, Some(&article), by).await?;
    Ok((StatusCode::CREATED, AxumJson(article)))
}

pub(crate) async fn load(state: &AppState, town: &TownId, id: &str) -> Result<Article, Problem> {
    if !valid_id(id) {
        return Err(unknown_article());
    }
    state.auth.store.get(&article_key(town, id)).await?.map(|i| i.to_value()).transpose()?.ok_or_else(unknown_article)
}

pub(crate) fn conflict() -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "article_changed",
        "Cette actualité a été modifiée entre-temps : rechargez-la avant de l'enregistrer.",
    )
}

async fn update(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, id)): Path<(String, String)>,
    body: Result<Json<ArticleInput>, Problem>,
) -> Result<AxumJson<Article>, Problem> {
    let town = http::load_town(&state.towns, &caller.town).await?;
    let previous = load(&state, town.id(), &id).await?;
    let Json(input) = body?;
    let now = state.auth.clock.now();
    if input.version.is_some_and(|v| v != previous.version) {
        return Err(conflict());
    }
    // Changing an existing closure is a calendar change too (a new one is refused with the
    // article's other checks, below).
    if previous.close_booking.is_some() {
        closure_change(caller.session.role, previous.close_booking.as_ref(), input.close_booking.as_ref(), false)?;
    }
    check(&town, caller.session.role, &input, now)?;
    let by = caller.session.email.as_str();
    let article = build(id.clone(), input, by, now, Some(&previous));
    let entry = audit_entry(by, "news.update", &id, Some(&previous), Some(&article), now);
    let cond = Cond::version(previous.version);
    match state
        .auth
        .store
        .transact(vec![WriteOp::Put { item: item(town.id(), &article)?, cond: Some(cond) }, entry.record(town.id())?])
        .await
    {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { index: 0, .. }) => return Err(conflict()),
        Err(e) => return Err(e.into()),
    }
    update_closures(&state, &town, Some(&previous), Some(&article), by).await?;
    Ok(AxumJson(article))
}

async fn remove(
    State(state): State<AppState>,
    Staff(caller): Staff,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let town = http::load_town(&state.towns, &caller.town).await?;
    let previous = load(&state, town.id(), &id).await?;
    closure_change(caller.session.role, previous.close_booking.as_ref(), None, true)?;
    let now = state.auth.clock.now();
    let entry = audit_entry(caller.session.email.as_str(), "news.delete", &id, Some(&previous), None, now);
    let cond = Cond::version(previous.version);
    match state
        .auth
        .store
        .transact(vec![
            WriteOp::Delete { key: article_key(town.id(), &id), cond: Some(cond) },
            entry.record(town.id())?,
        ])
        .await
    {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled { index: 0, .. }) => return Err(conflict()),
        Err(e) => return Err(e.into()),
    }
    update_closures(&state, &town, Some(&previous), None, caller.session.email.as_str()).await?;
    attachments::delete_files(&state, &previous).await;
    Ok(StatusCode::NO_CONTENT)
}
