//! Each function's IAM policy in `template.yaml` against what its code does in AWS.
//!
//! DynamoDB, by recording: every DynamoDB call goes through a store primitive, whose actions
//! `store::iam` names (and holds to the backend's SDK calls). The test portal gives each function
//! its own store handle held to the function's policy as read from the template
//! ([`grantor`]): a call the policy does not allow fails as AWS would fail it, and every action
//! checked is recorded, allowed or refused, in the file `EF_IAM_LEDGER` names. `scripts/test`
//! sets it for the whole suite, then runs [`the_suite_was_refused_nothing_and_used_every_grant`]:
//! a refusal fails it naming the function, the action and the resource; a granted DynamoDB
//! action no test made the function perform fails it too (least privilege).
//!
//! S3, SES and Secrets Manager, by a table: their few calls (`edge::files`, the mailer, the
//! operator's token) are listed below per function with why, and the test holds each policy
//! to exactly that.

use stack::template::{Function, Stack, Template};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

const TEMPLATE: &str = include_str!("../../template.yaml");

/// The template as the tests' local stack resolves it.
pub fn template() -> &'static Template {
    static T: OnceLock<Template> = OnceLock::new();
    T.get_or_init(|| {
        Template::parse(
            TEMPLATE,
            Stack::local(&[("PublicUrl", "http://portail.test"), ("SenderEmail", "mairie@example.test")]),
        )
        .expect("template.yaml")
    })
}

fn table_arn() -> String {
    template().attribute("Table", "Arn").expect("the table's ARN")
}

/// Each function's grants, for `local_portal::Options::grants`.
pub fn grantor() -> local_portal::Grantor {
    local_portal::Grantor(Arc::new(|function: &str| {
        let f: &'static Function = template().function(function)?;
        Some(store::iam::Grants {
            function: function.to_owned(),
            table_arn: table_arn(),
            allows: Arc::new(move |action, resource| f.allows(action, resource)),
        })
    }))
}

/// What a function does outside DynamoDB: (action, resource as the template resolves it, why).
fn other_calls() -> BTreeMap<&'static str, Vec<(&'static str, String, &'static str)>> {
    let t = template();
    let bucket = t.attribute("DocumentsBucket", "Arn").expect("bucket");
    let secret = t.reference("OperatorTokenSecret").expect("secret");
    let ses_identity = format!("arn:aws:ses:{}:{}:identity/mairie@example.test", t.stack.region, t.stack.account);
    let ses_set = format!(
        "arn:aws:ses:{}:{}:configuration-set/{}",
        t.stack.region,
        t.stack.account,
        t.reference("MailConfigurationSet").expect("configuration set")
    );
    let o = |p: &str| format!("{bucket}/{p}");
    let operator = ("secretsmanager:GetSecretValue", secret, "edge::lambda::operator_key, in main.rs");
    let qf_token = (
        "secretsmanager:GetSecretValue",
        t.reference("ApiParticulierTokenSecret").expect("API Particulier's secret"),
        "edge::lambda::secret_source(API_PARTICULIER_TOKEN_SECRET): API Particulier's bearer token",
    );
    BTreeMap::from([
        ("StaffFunction", vec![qf_token.clone()]),
        ("QfRefreshFunction", vec![qf_token]),
        ("TownsFunction", vec![operator.clone()]),
        (
            "AccountsFunction",
            vec![
                operator,
                ("s3:PutObject", o("uploads/t/-requests/r"), "Files::presign_put: a new family's proof of address"),
                ("s3:GetObject", o("uploads/t/-requests/r"), "Files::received / head / get_bytes: its check"),
                ("s3:PutObject", o("requests/t/r"), "Files::copy: the proof kept with the request"),
                ("s3:DeleteObject", o("uploads/t/-requests/r"), "Files::delete: the upload, once checked"),
                ("s3:GetObject", o("requests/t/r"), "Files::presign_get: staff open the proof"),
                ("s3:DeleteObject", o("requests/t/r"), "Files::delete: the proof, once the request is decided"),
            ],
        ),
        (
            "NotifierFunction",
            vec![
                ("ses:SendEmail", ses_identity, "services::mail::sender (SES v2 SendEmail), from SENDER_EMAIL"),
                ("ses:SendEmail", ses_set, "… naming SES_CONFIGURATION_SET"),
            ],
        ),
        (
            "DocumentsFunction",
            vec![
                ("s3:PutObject", o("uploads/t/f/d"), "Files::presign_put: the family's presigned upload"),
                ("s3:GetObject", o("uploads/t/f/d"), "Files::keep: head_object and copy_object's source"),
                ("s3:PutObject", o("documents/t/f/d"), "Files::keep: copy_object's destination"),
                ("s3:DeleteObject", o("uploads/t/f/d"), "Files::keep: the upload, once copied or refused"),
                ("s3:GetObject", o("documents/t/f/d"), "Files::presign_get: downloads"),
                ("s3:DeleteObject", o("documents/t/f/d"), "Files::delete: a withdrawn document"),
                ("s3:PutObject", o("exports/t/f/x.zip"), "Files::put_bytes: a family's export archive"),
                ("s3:GetObject", o("exports/t/f/x.zip"), "Files::presign_get_archive"),
            ],
        ),
        (
            "NewsFunction",
            vec![
                ("s3:PutObject", o("uploads/t/-news/a/1"), "Files::presign_put: an attachment's upload"),
                ("s3:GetObject", o("uploads/t/-news/a/1"), "Files::keep: head_object and copy_object's source"),
                ("s3:PutObject", o("documents/t/-news/a/1"), "Files::keep: copy_object's destination"),
                ("s3:DeleteObject", o("uploads/t/-news/a/1"), "Files::keep: the upload, once copied"),
                ("s3:GetObject", o("documents/t/-news/a/1"), "Files::presign_get: an attachment's download"),
                ("s3:DeleteObject", o("documents/t/-news/a/1"), "Files::delete: a removed attachment"),
            ],
        ),
        (
            "InboundMailFunction",
            vec![
                ("s3:GetObject", o("inbound/m"), "documents::inbound::receive: head_object, get_object (range)"),
                ("s3:DeleteObject", o("inbound/m"), "documents::inbound::receive: the message, once handled"),
                ("s3:PutObject", o("documents/t/f/d"), "documents::inbound: Files::put_bytes, each attachment filed"),
            ],
        ),
        (
            "DocumentsPurgeFunction",
            vec![
                ("s3:DeleteObject", o("documents/t/f/d"), "documents::purge and erase_due: Files::delete"),
                ("s3:ListBucket", bucket.clone(), "documents::erase_due: Files::list of the family's exports/"),
                ("s3:DeleteObject", o("exports/t/f/x.zip"), "documents::erase_due: the family's archives"),
            ],
        ),
    ])
}

/// The services other than DynamoDB.
fn outside_dynamodb(action: &str) -> bool {
    !action.to_ascii_lowercase().starts_with("dynamodb:")
}

#[test]
fn every_call_outside_dynamodb_is_granted_and_nothing_else_is() {
    let calls = other_calls();
    let mut wrong = Vec::new();
    for f in &template().functions {
        let mine = calls.get(f.id.as_str()).cloned().unwrap_or_default();
        for (action, resource, why) in &mine {
            if !f.allows(action, resource) {
                wrong.push(format!("{}: {action} on {resource} is not granted ({why})", f.id));
            }
        }
        for (action, resource) in f.granted().into_iter().filter(|(a, _)| outside_dynamodb(a)) {
            let used = mine.iter().any(|(a, r, _)| {
                stack::template::glob(&action.to_ascii_lowercase(), &a.to_ascii_lowercase())
                    && stack::template::glob(&resource, r)
            });
            if !used {
                wrong.push(format!("{}: {action} on {resource} is granted and never called", f.id));
            }
        }
    }
    assert!(wrong.is_empty(), "template.yaml's policies outside DynamoDB:\n{}", wrong.join("\n"));
}

#[test]
fn every_granted_dynamodb_action_is_one_the_store_can_perform() {
    use store::iam::{Primitive, actions};
    let key = store::Key::new("p", "s");
    let ops = [
        store::WriteOp::Put { item: store::Item::new(key.clone()), cond: None },
        store::WriteOp::Delete { key: key.clone(), cond: None },
        store::WriteOp::Check { key: key.clone(), cond: store::Cond::Exists },
        store::WriteOp::Add { key, attr: "n".into(), by: 1, max: None },
    ];
    let known: BTreeSet<&str> = [
        Primitive::Get,
        Primitive::GetMany,
        Primitive::Put,
        Primitive::Delete,
        Primitive::Add,
        Primitive::Query(store::Index::Gsi1),
        Primitive::Scan,
        Primitive::Transact(&ops),
    ]
    .into_iter()
    .flat_map(actions)
    .map(|n| n.action)
    .collect();
    for f in &template().functions {
        for (action, _) in f.granted().into_iter().filter(|(a, _)| !outside_dynamodb(a)) {
            assert!(known.contains(action.as_str()), "{}: {action} is no store primitive's action", f.id);
        }
    }
}

/// Grants the suite does not exercise but the code needs, each with the code that does it (read
/// by hand: the ledger only sees what tests run).
/// `WriteOp::Check` (ConditionCheckItem) is built only by `store::gate::open_check`, reached from
/// `gate::guards` (basket, staff, `services::operations`, `services::privacy::close`) and staff's
/// attendance; UpdateItem only by `Store::add` (`store::accounts::count_in_hour`: towns,
/// accounts), `repo::move_places` (staff, `services::operations`) and `gate::guards`' counters.
const NOT_REACHED_BY_TESTS: &[(&str, &str, &str)] = &[
    (
        "NewsFunction",
        "dynamodb:UpdateItem",
        "services::operations::run: a closure's cancellations free places (repo::move_places)",
    ),
    (
        "NewsFunction",
        "dynamodb:ConditionCheckItem",
        "services::operations::run: a closure promotes waiting lists (gate::guards)",
    ),
    (
        "NewsFunction",
        "dynamodb:Query",
        "services::operations::run: the closed days' bookings (repo::bookings, on the table)",
    ),
    ("NotifierFunction", "dynamodb:DeleteItem", "services::mail::deliverability: a delivery event forgets an address"),
    ("OperationsFunction", "dynamodb:Scan", "store::migrate::step: the operator's migration, by hand (docs/store.md)"),
    ("OperationsFunction", "dynamodb:Query", "services::operations: a day's bookings (repo::bookings, on the table)"),
    ("CalendarFunction", "dynamodb:Query", "repo::all_families (the index), which the calendar crate calls"),
];

/// Reads the ledger a whole run of the suite left (`scripts/test` runs it last): no function was
/// refused an action, and every DynamoDB (action, resource) a function is granted was performed
/// by it at least once. Run alone it has nothing to read and is skipped.
#[test]
#[ignore = "reads the ledger of a whole run of the suite: scripts/test runs it after the suite"]
fn the_suite_was_refused_nothing_and_used_every_grant() {
    let Some(path) = std::env::var_os("EF_IAM_LEDGER") else {
        panic!("EF_IAM_LEDGER names no ledger: run the suite with it set first (scripts/test does)")
    };
    let text = std::fs::read_to_string(&path).expect("the ledger");
    let uses: BTreeSet<store::iam::Use> = text.lines().filter_map(store::iam::Use::parse).collect();
    assert!(!uses.is_empty(), "the ledger is empty: did the suite run with EF_IAM_LEDGER set?");
    let mut wrong: Vec<String> = uses
        .iter()
        .filter(|u| !u.allowed)
        .map(|u| format!("{}: {} on {} was refused (not in its policy)", u.function, u.action, u.resource))
        .collect();
    // A statement grants the cross product of its actions and resources, so that GetItem on
    // the index is "granted" by the same line as Query on it: an action is unused when the
    // function never performed it on any resource; Query, the one action on both, is checked
    // on each.
    for f in &template().functions {
        let performed = |action: &str, resource: Option<&str>| {
            uses.iter().any(|u| {
                u.function == f.id
                    && u.allowed
                    && u.action.eq_ignore_ascii_case(action)
                    && resource.is_none_or(|r| u.resource == r)
            })
        };
        for (action, pattern) in f.granted().into_iter().filter(|(a, _)| !outside_dynamodb(a)) {
            let unused = if action.eq_ignore_ascii_case("dynamodb:Query") {
                !performed(&action, Some(&pattern))
            } else {
                !performed(&action, None)
            };
            if unused && !NOT_REACHED_BY_TESTS.iter().any(|(g, a, _)| *g == f.id && a.eq_ignore_ascii_case(&action)) {
                let on =
                    if action.eq_ignore_ascii_case("dynamodb:Query") { pattern } else { "any resource".to_owned() };
                wrong.push(format!("{}: {action} on {on} is granted and no test made it perform it", f.id));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "IAM against the suite's ledger ({}):\n{}", path.to_string_lossy(), wrong.join("\n"));
}
