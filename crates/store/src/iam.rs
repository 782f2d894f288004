//! The IAM actions each store primitive needs in AWS, and a store handle that holds a function
//! to its template policy.
//!
//! Every DynamoDB call of the portal goes through the few primitives of [`crate::Store`], so what
//! a function may need from DynamoDB is a property of those primitives: [`actions`] names, per
//! primitive, the IAM action and the resource (the table or its index) AWS evaluates. A
//! transaction (`TransactWriteItems`) has no action of its own: IAM evaluates each of its actions
//! as the single-item call it stands for (`PutItem`, `DeleteItem`, `UpdateItem`,
//! `ConditionCheckItem`). The test below holds the table to the SDK calls the DynamoDB backend
//! makes.
//!
//! [`Grants`] is what a Lambda's policy allows it, as the tests and the stack twin read it from
//! `template.yaml`: a store handle with grants ([`crate::Store::granted`]) refuses a call whose
//! action is not granted, as AWS would (`AccessDenied`, an `Unavailable` error naming the function,
//! the action and the resource), on either backend, and records every action it checked in the
//! process's [`ledger`] (and in the file `EF_IAM_LEDGER` names), so that a run of the tests tells
//! both what each function did and what it was refused.

use crate::{Index, WriteOp};
use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// A DynamoDB IAM action and the resource it is evaluated on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Need {
    pub action: &'static str,
    pub on: On,
}

/// The table or its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum On {
    Table,
    Gsi1,
}

/// A store primitive, as IAM sees it.
#[derive(Debug, Clone, Copy)]
pub enum Primitive<'a> {
    Get,
    GetMany,
    Put,
    Delete,
    Add,
    Query(Index),
    Scan,
    Transact(&'a [WriteOp]),
}

const fn need(action: &'static str, on: On) -> Need {
    Need { action, on }
}

/// The single-item action IAM evaluates for one action of a transaction.
pub fn write_action(op: &WriteOp) -> &'static str {
    match op {
        WriteOp::Put { .. } => "dynamodb:PutItem",
        WriteOp::Delete { .. } => "dynamodb:DeleteItem",
        WriteOp::Check { .. } => "dynamodb:ConditionCheckItem",
        WriteOp::Add { .. } | WriteOp::Counters { .. } => "dynamodb:UpdateItem",
    }
}

/// What AWS evaluates for one call of `p`.
pub fn actions(p: Primitive<'_>) -> BTreeSet<Need> {
    match p {
        Primitive::Get => [need("dynamodb:GetItem", On::Table)].into(),
        Primitive::GetMany => [need("dynamodb:BatchGetItem", On::Table)].into(),
        Primitive::Put => [need("dynamodb:PutItem", On::Table)].into(),
        Primitive::Delete => [need("dynamodb:DeleteItem", On::Table)].into(),
        Primitive::Add => [need("dynamodb:UpdateItem", On::Table)].into(),
        Primitive::Query(Index::Table) => [need("dynamodb:Query", On::Table)].into(),
        Primitive::Query(Index::Gsi1) => [need("dynamodb:Query", On::Gsi1)].into(),
        Primitive::Scan => [need("dynamodb:Scan", On::Table)].into(),
        Primitive::Transact(ops) => ops.iter().map(|op| need(write_action(op), On::Table)).collect(),
    }
}

/// Whether a policy allows `action` on `resource` (an ARN).
pub type Allows = dyn Fn(&str, &str) -> bool + Send + Sync;

/// What one function's policy allows it, with the table's ARN its resources name.
#[derive(Clone)]
pub struct Grants {
    pub function: String,
    pub table_arn: String,
    pub allows: Arc<Allows>,
}

impl std::fmt::Debug for Grants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grants").field("function", &self.function).finish_non_exhaustive()
    }
}

impl Grants {
    /// The ARN of `on`.
    pub fn resource(&self, on: On) -> String {
        match on {
            On::Table => self.table_arn.clone(),
            On::Gsi1 => format!("{}/index/gsi1", self.table_arn),
        }
    }

    /// Records each of `needs` and refuses the call if one is not allowed.
    pub(crate) fn check(&self, needs: BTreeSet<Need>) -> crate::Result<()> {
        let mut denied = None;
        for n in needs {
            let resource = self.resource(n.on);
            let allowed = (self.allows)(n.action, &resource);
            record(Use {
                function: self.function.clone(),
                action: n.action.to_owned(),
                resource: resource.clone(),
                allowed,
            });
            if !allowed && denied.is_none() {
                denied = Some(format!("AccessDenied: {} is not allowed {} on {resource}", self.function, n.action));
            }
        }
        match denied {
            Some(message) => {
                tracing::error!(%message, "IAM: a store call the template's policy does not allow");
                Err(crate::StoreError::Unavailable(message))
            }
            None => Ok(()),
        }
    }
}

/// One action a function performed, or was refused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Use {
    pub function: String,
    pub action: String,
    pub resource: String,
    pub allowed: bool,
}

impl Use {
    /// `function action resource allowed|DENIED`, one line of the ledger file.
    pub fn line(&self) -> String {
        format!(
            "{} {} {} {}",
            self.function,
            self.action,
            self.resource,
            if self.allowed { "allowed" } else { "DENIED" }
        )
    }

    /// Reads back a [`Use::line`].
    pub fn parse(line: &str) -> Option<Use> {
        let mut parts = line.split_whitespace();
        let (function, action, resource, verdict) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        Some(Use {
            function: function.to_owned(),
            action: action.to_owned(),
            resource: resource.to_owned(),
            allowed: verdict == "allowed",
        })
    }
}

static LEDGER: Mutex<BTreeSet<Use>> = Mutex::new(BTreeSet::new());

/// Records `u` in the process's ledger, and appends it to the file `EF_IAM_LEDGER` names the
/// first time it is seen (other AWS clients than the store's record theirs here too).
pub fn record(u: Use) {
    let Ok(mut ledger) = LEDGER.lock() else { return };
    if ledger.contains(&u) {
        return;
    }
    if let Some(path) = std::env::var_os("EF_IAM_LEDGER")
        && let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path)
    {
        // One short line per write: appends from parallel test processes do not interleave.
        let _ = f.write_all(format!("{}\n", u.line()).as_bytes());
    }
    ledger.insert(u);
}

/// Everything recorded in this process so far.
pub fn ledger() -> BTreeSet<Use> {
    LEDGER.lock().map(|l| l.clone()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cond, Item, Key};

    /// Every SDK operation the DynamoDB backend calls, read from its source, with what
    /// [`actions`] says it needs: a new call there without its line here fails.
    #[test]
    fn the_table_covers_every_sdk_call_of_the_dynamodb_backend() {
        let source = include_str!("dynamo/mod.rs");
        let mut called: BTreeSet<String> = BTreeSet::new();
        for (i, _) in source.match_indices("client") {
            let rest = &source[i + "client".len()..];
            let rest = rest.trim_start();
            if let Some(op) = rest.strip_prefix('.').and_then(|r| r.split_once("()")).map(|(op, _)| op.trim())
                && op.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            {
                called.insert(op.to_owned());
            }
        }
        let key = Key::new("p", "s");
        let all_ops = [
            WriteOp::Put { item: Item::new(key.clone()), cond: None },
            WriteOp::Delete { key: key.clone(), cond: None },
            WriteOp::Check { key: key.clone(), cond: Cond::Exists },
            WriteOp::Add { key, attr: "n".into(), by: 1, max: None },
        ];
        // The SDK operation each primitive calls, and the IAM actions the table gives it.
        let table: Vec<(&str, BTreeSet<Need>)> = vec![
            ("get_item", actions(Primitive::Get)),
            ("batch_get_item", actions(Primitive::GetMany)),
            ("put_item", actions(Primitive::Put)),
            ("delete_item", actions(Primitive::Delete)),
            ("update_item", actions(Primitive::Add)),
            (
                "query",
                actions(Primitive::Query(Index::Table))
                    .into_iter()
                    .chain(actions(Primitive::Query(Index::Gsi1)))
                    .collect(),
            ),
            ("scan", actions(Primitive::Scan)),
            ("transact_write_items", actions(Primitive::Transact(&all_ops))),
            // Tests' and the twin's own table creation, never a function's.
            ("create_table", BTreeSet::new()),
            ("update_time_to_live", BTreeSet::new()),
        ];
        let named: BTreeSet<String> = table.iter().map(|(op, _)| (*op).to_owned()).collect();
        assert_eq!(called, named, "the DynamoDB backend's SDK calls and the IAM table differ");
        for (op, needs) in &table {
            for n in needs {
                // GetItem for get_item, BatchGetItem for batch_get_item…
                let camel: String = op.split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect();
                let expected = op != &"transact_write_items";
                assert!(
                    !expected || n.action == format!("dynamodb:{camel}"),
                    "{op}: {} is not the action of the same name",
                    n.action
                );
            }
        }
        assert_eq!(
            actions(Primitive::Transact(&all_ops)).into_iter().map(|n| n.action).collect::<Vec<_>>(),
            ["dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
        );
    }
}
