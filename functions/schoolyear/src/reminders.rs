//! The campaign's reminders: on each day the town set, to every guardian of a family whose
//! enrolment still needs action (a child not started, in progress, corrections asked, or a
//! document missing). Never twice a day: a marker per family and day is written with the
//! emails, conditioned on its absence. Not subject to the guardians' reminders setting: while the
//! campaign requires action, the reminder is what keeps the year's bookings from staying closed.
//! Runs from the scheduled sweep (daily); a page of families per transaction.

use super::{get_campaign, get_enrolment};
use chrono::{DateTime, Utc};
use domain::config::Town;
use domain::family::Family;
use domain::school_year::{SchoolYear, status};
use services::mail::outbox::Mail;
use services::mail::templates::school_year::CampaignReminder;
use store::{Item, Store, StoreError, WriteOp, keys, repo};

/// Reminds the families of `town` whose enrolment needs action, if today is a reminder day of
/// an open campaign; answers how many emails were queued.
pub async fn remind(store: &Store, town: &Town, public_url: &str, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let today = town.today(now);
    let this = SchoolYear::of(today);
    let mut sent = 0;
    for year in [this, this.next()] {
        let Some(campaign) = get_campaign(store, town.id(), year).await? else { continue };
        if !campaign.is_open(today) || !campaign.reminds_on(today) {
            continue;
        }
        for family in repo::all_families(store, town.id()).await? {
            let enrolment = get_enrolment(store, town.id(), &family.reference, year).await?;
            let docs = services::school_year::documents(store, town.id(), &family.reference).await?;
            let mut lines = Vec::new();
            for id in &family.children {
                let Some(child) = repo::get_child(store, town.id(), id).await? else { continue };
                let gaps =
                    services::school_year::gaps_of_child(store, town, &campaign, enrolment.as_ref(), &child, &docs)
                        .await?;
                let s = status(enrolment.as_ref(), &gaps);
                if s.needs_action() {
                    let what: Vec<String> = gaps.iter().filter(|g| !g.pending).map(|g| g.label.clone()).collect();
                    let what = if what.is_empty() { s.french().to_owned() } else { what.join(", ") };
                    lines.push(format!("{}\u{202f}: {what}", child.first_name));
                }
            }
            if lines.is_empty() || family.guardians.is_empty() {
                continue;
            }
            sent += send(store, town, public_url, (year, campaign.input.closes_on), &family, lines, now).await?;
        }
    }
    Ok(sent)
}

async fn send(
    store: &Store,
    town: &Town,
    public_url: &str,
    (year, closes_on): (SchoolYear, chrono::NaiveDate),
    family: &Family,
    lines: Vec<String>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let marker = Item::new(keys::campaign_reminder(town.id(), year, town.today(now), &family.reference));
    let mut ops = vec![WriteOp::create(marker)];
    for g in &family.guardians {
        let content = CampaignReminder {
            town: town.config().name.clone(),
            first_name: g.first_name.clone(),
            public_url: public_url.to_owned(),
            year: year.to_string(),
            closes_on,
            children: lines.clone(),
        }
        .render();
        ops.push(Mail::new(town.id(), &g.email, content, now).enqueue()?);
    }
    match store.transact(ops).await {
        Ok(()) => Ok(family.guardians.len()),
        // Reminded already today.
        Err(StoreError::TransactionCanceled { index: 0, .. }) => Ok(0),
        Err(e) => Err(e),
    }
}
