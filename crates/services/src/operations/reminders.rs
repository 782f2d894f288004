//! The holiday booking reminders: to the guardians of enrolled children who have booked
//! nothing of a period, when bookings open and before the deadline, once per family.

use super::common::Ctx;
use crate::mail::outbox::Mail;
use crate::mail::templates::bookings as emails;
use chrono::{DateTime, Utc};
use domain::ChildId;
use domain::config::Town;
use domain::operations as rules;
use std::collections::{HashMap, HashSet};
use store::repo::{self, Towns};
use store::{Item, StoreError, WriteOp, keys};

/// How far ahead the reminders look for holiday periods, in days.
const REMINDER_HORIZON_DAYS: u64 = 120;

/// Sends the holiday booking reminders due now in every town; how many emails.
pub async fn remind_all(ctx: Ctx<'_>, towns: &Towns, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let mut sent = 0;
    for id in repo::town_ids(ctx.store).await? {
        let Some(town) = towns.get(&id).await? else { continue };
        sent += remind(ctx, &town, now).await?;
    }
    Ok(sent)
}

/// The holiday booking reminders due now in `town`: when bookings open for a holiday period,
/// and a few days before its deadline, to each guardian of a family with children enrolled who
/// have booked nothing of it, unless the guardian turned them off. Each goes once per family
/// and reminder (a marker written with the emails). Answers how many emails.
pub async fn remind(ctx: Ctx<'_>, town: &Town, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let settings = &town.config().operations;
    let today = town.today(now);
    let periods: Vec<(rules::HolidayBooking, rules::Reminder)> =
        rules::holiday_bookings(town, today, REMINDER_HORIZON_DAYS)
            .into_iter()
            .filter_map(|p| rules::due_reminder(&p, settings, now).map(|r| (p, r)))
            .collect();
    if periods.is_empty() {
        return Ok(0);
    }
    let families = repo::all_families(ctx.store, town.id()).await?;
    let children: HashMap<ChildId, domain::family::Child> =
        repo::all_children(ctx.store, town.id()).await?.into_iter().map(|c| (c.id.clone(), c)).collect();
    let opted_out: HashSet<String> = store::accounts::all_accounts(ctx.store, town.id())
        .await?
        .into_iter()
        .filter(|a| a.no_reminders)
        .map(|a| a.email.to_string())
        .collect();
    let mut sent = 0;
    for (p, reminder) in &periods {
        let Some(activity) = town.config().activities.iter().find(|a| a.id == p.activity) else { continue };
        let period_key = format!("{}#{}#{}", p.first, p.activity, reminder.as_str());
        // The period's bookings of every child, read once from the day index.
        let days = p.first.iter_days().take_while(|d| *d <= p.last);
        let booked = repo::bookings_of_days(ctx.store, town.id(), days).await?;
        for f in &families {
            let unbooked: Vec<String> = domain::reminders::unbooked(
                p,
                &activity.sites,
                f.children.iter().filter_map(|c| children.get(c)),
                &booked,
            )
            .into_iter()
            .map(|c| c.first_name.clone())
            .collect();
            if unbooked.is_empty() {
                continue;
            }
            let guardians = domain::reminders::reminded(&f.guardians, |email| opted_out.contains(email));
            if guardians.is_empty() {
                continue;
            }
            let marker = Item::new(keys::holiday_reminder(town.id(), &period_key, &f.reference));
            let mut ops = vec![WriteOp::create(marker)];
            for g in &guardians {
                // Its one-click unsubscribe link (RFC 8058), for the mail client and the text.
                let (secret, link) = store::accounts::unsubscribe_token(town.id(), &g.email, now)?;
                ops.push(link);
                let one_click = format!("{}/api/towns/{}/unsubscribe/{secret}", ctx.public_url, town.id());
                let content = emails::HolidayReminder {
                    town: town.config().name.clone(),
                    first_name: g.first_name.clone(),
                    public_url: ctx.public_url.to_owned(),
                    reminder: *reminder,
                    period: p.name.clone(),
                    first: p.first,
                    last: p.last,
                    deadline: p.deadline,
                    tz: town.tz(),
                    unbooked: unbooked.clone(),
                    unsubscribe: format!("{}/desabonnement.html?commune={}#jeton={secret}", ctx.public_url, town.id()),
                }
                .render();
                ops.push(
                    Mail::new(town.id(), &g.email, content, now)
                        .of_kind(domain::delivery::MailKind::Reminder)
                        .with_unsubscribe(one_click)
                        .enqueue()?,
                );
            }
            match ctx.store.transact(ops).await {
                Ok(()) => sent += guardians.len(),
                // Already reminded.
                Err(StoreError::TransactionCanceled { index: 0, .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(sent)
}
