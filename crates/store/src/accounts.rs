//! Accounts, single-use tokens, sessions and login throttling, over the store.

use super::secret;
use crate::{Cond, Item, Key, Query, SkRange, Store, StoreError, WriteOp, keys};
use chrono::{DateTime, TimeDelta, Timelike, Utc};
use domain::account::Role;
use domain::account::session;
use domain::family::Email;
use domain::{FamilyRef, TownId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Created by an import or by the operator; waits for its activation link.
    Pending,
    Active,
}

/// A login of one town. Never sent to a client as is (it holds the password hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub email: Email,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    /// The families a guardian belongs to (empty for staff).
    #[serde(default)]
    pub families: Vec<FamilyRef>,
    pub status: AccountStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    /// How many times a password was set (activation, reset). A link carries the value it was
    /// issued at: setting a password revokes every link issued before.
    #[serde(default)]
    pub credentials: u64,
    /// Incremented by every write, which is conditioned on the version read (optimistic
    /// locking: an import never overwrites a password set meanwhile).
    #[serde(default)]
    pub version: u64,
    /// The guardian turned off the holiday booking reminders.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_reminders: bool,
}

impl Account {
    fn item(&self, town: &TownId) -> Result<Item, StoreError> {
        Ok(Item::from_value(keys::account(town, &self.email), self)?
            .with_gsi1(Key::new(keys::accounts_of_town(town), self.email.as_str())))
    }

    /// The write that stores this account as read at `self.version`, bumping the version.
    pub fn save(mut self, town: &TownId) -> Result<WriteOp, StoreError> {
        let cond = if self.version == 0 { Cond::NotExists } else { Cond::version(self.version) };
        self.version += 1;
        Ok(WriteOp::Put { item: self.item(town)?, cond: Some(cond) })
    }
}

/// Every account of a town (one index query per 1 MB page).
pub async fn all_accounts(store: &Store, town: &TownId) -> Result<Vec<Account>, StoreError> {
    store
        .query_all(&Query::gsi1(keys::accounts_of_town(town), SkRange::All))
        .await?
        .iter()
        .map(Item::to_value)
        .collect()
}

pub async fn get_account(store: &Store, town: &TownId, email: &Email) -> Result<Option<Account>, StoreError> {
    store.get(&keys::account(town, email)).await?.map(|i| i.to_value()).transpose()
}

/// What a single-use token opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Activation,
    Reset,
}

impl Purpose {
    fn sort_key(self) -> &'static str {
        match self {
            Purpose::Activation => "ACTIVATION",
            Purpose::Reset => "RESET",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct TokenRecord {
    email: Email,
    expires_at: DateTime<Utc>,
    /// The account's `credentials` when the token was issued.
    #[serde(default)]
    credentials: u64,
}

impl TokenRecord {
    /// Whether the token still opens `account`: no password was set since it was issued.
    fn opens(&self, account: &Account) -> bool {
        self.credentials == account.credentials
    }
}

/// A new token for `account`: the secret to send, and the write that stores its hash (to put
/// in the same transaction as the email that carries it).
pub fn new_token(
    town: &TownId,
    account: &Account,
    purpose: Purpose,
    now: DateTime<Utc>,
    valid_for: TimeDelta,
) -> Result<(String, WriteOp), StoreError> {
    let secret = secret::generate();
    let digest = secret::digest(&secret);
    let expires_at = now + valid_for;
    let item = Item::from_value(
        keys::token(town, &digest, purpose.sort_key()),
        &TokenRecord { email: account.email.clone(), expires_at, credentials: account.credentials },
    )?
    // Listed with the account's sessions: revoked with them (an erased account keeps no link).
    .with_gsi1(Key::new(keys::sessions_of(town, &account.email), format!("TOKEN#{digest}")))
    // Kept a day past expiry so that a late click says "expired" rather than "unknown".
    .with_ttl((expires_at + TimeDelta::days(1)).timestamp());
    Ok((secret, WriteOp::Put { item, cond: Some(Cond::NotExists) }))
}

/// Whether a token can be used now, and for whom (checked before the costly password hash).
pub async fn peek(
    store: &Store,
    town: &TownId,
    token: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<Redeemed, StoreError> {
    let Some(item) = store.get(&keys::token(town, &secret::digest(token), purpose.sort_key())).await? else {
        return Ok(Redeemed::Invalid);
    };
    let record: TokenRecord = item.to_value()?;
    if now >= record.expires_at {
        return Ok(Redeemed::Expired);
    }
    match get_account(store, town, &record.email).await? {
        Some(a) if record.opens(&a) && (purpose == Purpose::Reset || a.status == AccountStatus::Pending) => {
            Ok(Redeemed::Done(a))
        }
        _ => Ok(Redeemed::Invalid),
    }
}

/// The outcome of using a token.
#[derive(Debug, PartialEq)]
pub enum Redeemed {
    /// The password is set; the token is spent; the account's sessions are revoked.
    Done(Account),
    /// Past its expiry: a new one must be asked for.
    Expired,
    /// Never issued, already used, or a password was set since it was issued (by another
    /// link): every older link is revoked.
    Invalid,
}

/// Uses a token once: stores `password_hash` on its account (activating it) and spends the
/// token, in one transaction.
pub async fn redeem(
    store: &Store,
    town: &TownId,
    token: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
    password_hash: String,
) -> Result<Redeemed, StoreError> {
    let key = keys::token(town, &secret::digest(token), purpose.sort_key());
    let Some(item) = store.get(&key).await? else {
        return Ok(Redeemed::Invalid);
    };
    let record: TokenRecord = item.to_value()?;
    if now >= record.expires_at {
        return Ok(Redeemed::Expired);
    }
    let Some(mut account) = get_account(store, town, &record.email).await? else {
        return Ok(Redeemed::Invalid);
    };
    if !record.opens(&account) || (purpose == Purpose::Activation && account.status != AccountStatus::Pending) {
        return Ok(Redeemed::Invalid);
    }
    account.status = AccountStatus::Active;
    account.password_hash = Some(password_hash);
    account.credentials += 1;
    let ops = vec![WriteOp::Delete { key, cond: Some(Cond::Exists) }, account.clone().save(town)?];
    match store.transact(ops).await {
        Ok(()) => {}
        // Spent by a concurrent request, or the account changed meanwhile.
        Err(StoreError::TransactionCanceled { .. }) => return Ok(Redeemed::Invalid),
        Err(e) => return Err(e),
    }
    revoke_sessions(store, town, &account.email).await?;
    account.version += 1;
    Ok(Redeemed::Done(account))
}

/// How long a reminder's one-click unsubscribe link works.
pub const UNSUBSCRIBE_LINK: TimeDelta = TimeDelta::days(366);

#[derive(Serialize, Deserialize)]
struct UnsubscribeRecord {
    email: Email,
    expires_at: DateTime<Utc>,
}

/// A new unsubscribe link's secret for the reminders sent to `email` (RFC 8058), and the write
/// that stores its hash, for the transaction of the reminder that carries it. Not single-use
/// (a mail client may POST twice; the page may turn them back on) and not revoked with the
/// sessions: it only turns the reminders off or on, and dies with its time to live.
pub fn unsubscribe_token(town: &TownId, email: &Email, now: DateTime<Utc>) -> Result<(String, WriteOp), StoreError> {
    let secret = secret::generate();
    let digest = secret::digest(&secret);
    let expires_at = now + UNSUBSCRIBE_LINK;
    let item = Item::from_value(
        keys::token(town, &digest, UNSUBSCRIBE),
        &UnsubscribeRecord { email: email.clone(), expires_at },
    )?
    .with_gsi1(Key::new(keys::unsubscribe_links_of(town, email), format!("{}#{digest}", expires_at.timestamp())))
    .with_ttl(expires_at.timestamp());
    Ok((secret, WriteOp::Put { item, cond: Some(Cond::NotExists) }))
}

/// Deletes the unsubscribe links made for `email` (a family's erasure).
pub async fn forget_unsubscribe_links(store: &Store, town: &TownId, email: &Email) -> Result<(), StoreError> {
    for item in store.query_all(&Query::gsi1(keys::unsubscribe_links_of(town, email), SkRange::All)).await? {
        store.delete(&item.key, None).await?;
    }
    Ok(())
}

/// The address an unsubscribe link was made for, if it is known and not expired.
pub async fn unsubscribe_email(
    store: &Store,
    town: &TownId,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Email>, StoreError> {
    let Some(item) = store.get(&keys::token(town, &secret::digest(token), UNSUBSCRIBE)).await? else {
        return Ok(None);
    };
    let record: UnsubscribeRecord = item.to_value()?;
    Ok((now < record.expires_at).then_some(record.email))
}

const UNSUBSCRIBE: &str = "UNSUBSCRIBE";

/// A live session, as stored (keyed by the hash of its cookie).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub email: Email,
    pub role: Role,
    #[serde(default)]
    pub families: Vec<FamilyRef>,
    /// Echoed by the client in `x-csrf-token` on state-changing requests.
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

impl Session {
    fn over(&self, now: DateTime<Utc>) -> bool {
        now >= self.created_at + session::ABSOLUTE || now >= self.last_seen_at + session::IDLE
    }
}

fn session_item(town: &TownId, digest: &str, s: &Session) -> Result<Item, StoreError> {
    Ok(Item::from_value(keys::session(town, digest), s)?
        .with_gsi1(Key::new(keys::sessions_of(town, &s.email), format!("{}#{digest}", s.created_at.to_rfc3339())))
        .with_ttl((s.created_at + session::ABSOLUTE).timestamp()))
}

/// Opens a session for an account; returns the cookie's secret and the session.
pub async fn create_session(
    store: &Store,
    town: &TownId,
    account: &Account,
    now: DateTime<Utc>,
) -> Result<(String, Session), StoreError> {
    let token = secret::generate();
    let s = Session {
        email: account.email.clone(),
        role: account.role,
        families: account.families.clone(),
        csrf: secret::generate(),
        created_at: now,
        last_seen_at: now,
    };
    store.put(session_item(town, &secret::digest(&token), &s)?, Some(Cond::NotExists)).await?;
    Ok((token, s))
}

/// The live session of a cookie's secret; refreshes its idle expiry now and then; deletes
/// it when over.
pub async fn find_session(
    store: &Store,
    town: &TownId,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Session>, StoreError> {
    let digest = secret::digest(token);
    let key = keys::session(town, &digest);
    let Some(item) = store.get(&key).await? else {
        return Ok(None);
    };
    let mut s: Session = item.to_value()?;
    if s.over(now) {
        store.delete(&key, None).await?;
        return Ok(None);
    }
    if now - s.last_seen_at >= session::TOUCH_EVERY {
        s.last_seen_at = now;
        // Revoked meanwhile (logout elsewhere, password change): the session stays dead.
        match store.put(session_item(town, &digest, &s)?, Some(Cond::Exists)).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Ok(Some(s))
}

pub async fn delete_session(store: &Store, town: &TownId, token: &str) -> Result<(), StoreError> {
    store.delete(&keys::session(town, &secret::digest(token)), None).await
}

/// Ends every session of an account and spends its outstanding links (password set or changed,
/// account erased).
pub async fn revoke_sessions(store: &Store, town: &TownId, email: &Email) -> Result<(), StoreError> {
    let items = store.query_all(&Query::gsi1(keys::sessions_of(town, email), SkRange::All)).await?;
    for item in items {
        store.delete(&item.key, None).await?;
    }
    Ok(())
}

/// How many failed logins an hour are tolerated before further attempts are refused.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    pub per_account: i64,
    pub per_address: i64,
}

impl Default for Throttle {
    /// NIST SP 800-63B allows at most 100 failures per account; 20 an hour is kinder to
    /// attackers' victims and still ample for a parent who mistypes.
    fn default() -> Throttle {
        Throttle { per_account: 20, per_address: 100 }
    }
}

fn hour_of(now: DateTime<Utc>) -> (String, DateTime<Utc>) {
    let start = now.with_minute(0).and_then(|t| t.with_second(0)).and_then(|t| t.with_nanosecond(0)).unwrap_or(now);
    (start.format("%Y-%m-%dT%H").to_string(), start + TimeDelta::hours(1))
}

fn subjects(email: &Email, address: &str) -> [(String, bool); 2] {
    [(format!("EMAIL#{email}"), true), (format!("ADDR#{address}"), false)]
}

/// `Some(until)` when logins for this email or from this address are refused until then.
pub async fn throttled_until(
    store: &Store,
    town: &TownId,
    email: &Email,
    address: &str,
    now: DateTime<Utc>,
    limits: Throttle,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let (hour, end) = hour_of(now);
    for (subject, is_account) in subjects(email, address) {
        let limit = if is_account { limits.per_account } else { limits.per_address };
        let count = store
            .get(&keys::failures(town, &subject, &hour))
            .await?
            .and_then(|i| i.attrs.get("count")?.as_i64())
            .unwrap_or(0);
        if count >= limit {
            return Ok(Some(end));
        }
    }
    Ok(None)
}

/// Counts one event of `subject` in the current hour; answers whether it stayed within
/// `max` (an event over `max` is not counted). The hour's bucket is created once with its
/// expiry and never overwritten, so concurrent events are all counted by the atomic add.
pub async fn count_in_hour(
    store: &Store,
    town: &TownId,
    subject: &str,
    now: DateTime<Utc>,
    max: Option<i64>,
) -> Result<bool, StoreError> {
    let (hour, end) = hour_of(now);
    let key = keys::failures(town, subject, &hour);
    let ttl = (end + TimeDelta::hours(1)).timestamp();
    match store.put(Item::new(key.clone()).with_ttl(ttl), Some(Cond::NotExists)).await {
        Ok(()) | Err(StoreError::ConditionFailed) => {}
        Err(e) => return Err(e),
    }
    match store.add(&key, "count", 1, max).await {
        Ok(_) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Counts a failed login against the email and the address, for this hour.
pub async fn record_failure(
    store: &Store,
    town: &TownId,
    email: &Email,
    address: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for (subject, _) in subjects(email, address) {
        count_in_hour(store, town, &subject, now, None).await?;
    }
    Ok(())
}
