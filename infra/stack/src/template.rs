//! `template.yaml` as a local stack resolves it: each function (its binary, environment,
//! memory, timeout, routes, schedules and policy statements) and the resources they name, with
//! `!Ref`, `!GetAtt`, `!Sub` and `!Join` resolved to the names and ARNs a stack called
//! [`Stack::name`] in [`Stack::region`] would give them.

use serde_yaml::Value;
use serde_yaml::value::TaggedValue;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("template.yaml: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template.yaml: {0}")]
    Invalid(String),
}

fn invalid(s: impl Into<String>) -> Error {
    Error::Invalid(s.into())
}

/// How the local stack names things: the values CloudFormation would give in an account.
#[derive(Debug, Clone)]
pub struct Stack {
    pub name: String,
    pub region: String,
    pub account: String,
    /// The template's parameters (those not given take their default).
    pub parameters: BTreeMap<String, String>,
    /// Where the local stack's buckets are reached (`127.0.0.1:port`, path-style): a bucket's
    /// `RegionalDomainName`. `None`: S3's own regional name.
    pub s3_domain: Option<String>,
}

impl Stack {
    pub fn local(parameters: &[(&str, &str)]) -> Stack {
        Stack {
            name: "espace-famille".into(),
            region: "eu-west-3".into(),
            account: "123456789012".into(),
            parameters: parameters.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            s3_domain: None,
        }
    }
}

/// One `AWS::Serverless::Function`.
#[derive(Debug, Clone)]
pub struct Function {
    /// Its logical id (`TownsFunction`).
    pub id: String,
    /// The binary `cargo lambda` builds for it (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    /// `Globals` then its own variables, resolved.
    pub env: BTreeMap<String, String>,
    pub memory_mb: u64,
    pub timeout_s: u64,
    pub routes: Vec<Route>,
    pub schedules: Vec<Schedule>,
    /// Its `DynamoDB` stream event sources.
    pub streams: Vec<StreamSource>,
    /// Its `SNS` subscriptions.
    pub topics: Vec<TopicSource>,
    /// Its other event sources, by type.
    pub other_events: Vec<String>,
    pub statements: Vec<Statement>,
}

/// An `HttpApi` event: `GET /api/towns/{town}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
}

/// A `Schedule` event.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub expression: String,
    /// The event's JSON (`Input`), `None` for EventBridge's own scheduled event.
    pub input: Option<String>,
}

/// A `DynamoDB` event: the stream of a table, read as Lambda's event source mapping reads it.
#[derive(Debug, Clone)]
pub struct StreamSource {
    pub name: String,
    /// The table's logical id (`!GetAtt Table.StreamArn`).
    pub table: String,
    /// `LATEST` or `TRIM_HORIZON`.
    pub starting_position: String,
    pub batch_size: usize,
    pub batching_window_s: u64,
    /// `FilterCriteria.Filters[].Pattern`, parsed: a record is delivered when one matches (none:
    /// every record).
    pub filters: Vec<serde_json::Value>,
}

/// An `SNS` event: the function subscribed to a topic.
#[derive(Debug, Clone)]
pub struct TopicSource {
    pub name: String,
    /// The topic's logical id (`!Ref MailEventsTopic`).
    pub topic: String,
    /// Its ARN in the local stack.
    pub arn: String,
}

/// One statement of a function's inline policy.
#[derive(Debug, Clone)]
pub struct Statement {
    pub allow: bool,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// Its `Condition`, as written (the twin does not evaluate conditions: see docs/deployment.md).
    pub condition: Option<serde_json::Value>,
}

impl Function {
    /// Whether this function's policy allows `action` on `resource`, as IAM evaluates an
    /// identity policy without conditions: an explicit deny wins, else any allow; `*` and `?`
    /// are wildcards, actions compare without case.
    pub fn allows(&self, action: &str, resource: &str) -> bool {
        let matching = |s: &Statement| {
            s.actions.iter().any(|a| glob(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
                && s.resources.iter().any(|r| glob(r, resource))
        };
        !self.statements.iter().any(|s| !s.allow && matching(s))
            && self.statements.iter().any(|s| s.allow && matching(s))
    }

    /// Every (action, resource) its allow statements name, as written.
    pub fn granted(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for s in self.statements.iter().filter(|s| s.allow) {
            for a in &s.actions {
                for r in &s.resources {
                    out.push((a.clone(), r.clone()));
                }
            }
        }
        out
    }
}

/// `!GetAtt Id.Attr` as (`Id`, `Attr`).
fn get_att(v: &Value) -> Option<(String, String)> {
    let Value::Tagged(t) = v else { return None };
    if t.tag.to_string().trim_start_matches('!') != "GetAtt" {
        return None;
    }
    let (id, attr) = t.value.as_str()?.split_once('.')?;
    Some((id.to_owned(), attr.to_owned()))
}

/// IAM's wildcards: `*` any run of characters, `?` one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The template, read.
#[derive(Debug, Clone)]
pub struct Template {
    pub stack: Stack,
    pub functions: Vec<Function>,
    /// Every resource, as written.
    pub resources: BTreeMap<String, Value>,
    parameters: BTreeMap<String, Value>,
}

impl Template {
    pub fn parse(text: &str, stack: Stack) -> Result<Template, Error> {
        let doc: Value = serde_yaml::from_str(text)?;
        let map = |v: Option<&Value>| -> BTreeMap<String, Value> {
            v.and_then(Value::as_mapping)
                .map(|m| m.iter().filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.clone()))).collect())
                .unwrap_or_default()
        };
        let mut t = Template {
            stack,
            functions: Vec::new(),
            resources: map(doc.get("Resources")),
            parameters: map(doc.get("Parameters")),
        };
        let globals = doc.get("Globals").and_then(|g| g.get("Function")).cloned().unwrap_or(Value::Null);
        let mut functions = Vec::new();
        for (id, r) in &t.resources {
            if r.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::Function") {
                functions.push(t.read_function(id, r, &globals)?);
            }
        }
        t.functions = functions;
        Ok(t)
    }

    /// The function `id`.
    pub fn function(&self, id: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.id == id)
    }

    /// The resource `id`'s type.
    pub fn resource_type(&self, id: &str) -> Option<&str> {
        self.resources.get(id)?.get("Type")?.as_str()
    }

    /// The resource `id`'s property at `path` (`["Properties", "KeySchema"]`), as JSON.
    pub fn property(&self, id: &str, path: &[&str]) -> Option<serde_json::Value> {
        let mut v = self.resources.get(id)?.get("Properties")?;
        for p in path {
            v = v.get(*p)?;
        }
        serde_json::to_value(v).ok()
    }

    fn read_function(&self, id: &str, r: &Value, globals: &Value) -> Result<Function, Error> {
        let props = r.get("Properties").ok_or_else(|| invalid(format!("{id}: no Properties")))?;
        let binary = r
            .get("Metadata")
            .and_then(|m| m.get("BuildProperties"))
            .and_then(|b| b.get("Binary"))
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("{id}: no Metadata.BuildProperties.Binary")))?
            .to_owned();
        let mut env = BTreeMap::new();
        for source in [globals, props] {
            if let Some(vars) = source.get("Environment").and_then(|e| e.get("Variables")).and_then(Value::as_mapping) {
                for (k, v) in vars {
                    let k = k.as_str().ok_or_else(|| invalid(format!("{id}: a variable's name")))?;
                    env.insert(k.to_owned(), self.resolve(v).map_err(|e| invalid(format!("{id}.{k}: {e}")))?);
                }
            }
        }
        let number = |key: &str, default: u64| {
            props.get(key).or_else(|| globals.get(key)).and_then(Value::as_u64).unwrap_or(default)
        };
        let mut f = Function {
            id: id.to_owned(),
            binary,
            env,
            memory_mb: number("MemorySize", 128),
            timeout_s: number("Timeout", 3),
            routes: Vec::new(),
            schedules: Vec::new(),
            streams: Vec::new(),
            topics: Vec::new(),
            other_events: Vec::new(),
            statements: Vec::new(),
        };
        if let Some(events) = props.get("Events").and_then(Value::as_mapping) {
            for (name, e) in events {
                let name = name.as_str().unwrap_or_default().to_owned();
                let p = e.get("Properties").cloned().unwrap_or(Value::Null);
                let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_owned);
                match e.get("Type").and_then(Value::as_str) {
                    Some("HttpApi") => f.routes.push(Route {
                        method: s("Method").unwrap_or_else(|| "ANY".into()).to_ascii_uppercase(),
                        path: s("Path").unwrap_or_else(|| "$default".into()),
                    }),
                    Some("Schedule") => f.schedules.push(Schedule {
                        name,
                        expression: s("Schedule")
                            .ok_or_else(|| invalid(format!("{id}: a schedule without Schedule")))?,
                        input: s("Input"),
                    }),
                    Some("DynamoDB") => {
                        let table = p
                            .get("Stream")
                            .and_then(get_att)
                            .and_then(|(id, attr)| (attr == "StreamArn").then_some(id))
                            .ok_or_else(|| {
                                invalid(format!("{id}.{name}: Stream is not a table's !GetAtt …StreamArn"))
                            })?;
                        let mut filters = Vec::new();
                        for filter in p
                            .get("FilterCriteria")
                            .and_then(|c| c.get("Filters"))
                            .and_then(Value::as_sequence)
                            .into_iter()
                            .flatten()
                        {
                            let pattern = filter.get("Pattern").and_then(Value::as_str).unwrap_or_default();
                            let pattern: serde_json::Value = serde_json::from_str(pattern)
                                .map_err(|e| invalid(format!("{id}.{name}: a filter pattern that is not JSON: {e}")))?;
                            crate::events::check_pattern(&pattern).map_err(|e| invalid(format!("{id}.{name}: {e}")))?;
                            filters.push(pattern);
                        }
                        let number = |k: &str, default: u64| p.get(k).and_then(Value::as_u64).unwrap_or(default);
                        f.streams.push(StreamSource {
                            name,
                            table,
                            starting_position: s("StartingPosition").unwrap_or_else(|| "LATEST".into()),
                            batch_size: usize::try_from(number("BatchSize", 100)).unwrap_or(100),
                            batching_window_s: number("MaximumBatchingWindowInSeconds", 0),
                            filters,
                        });
                    }
                    Some("SNS") => {
                        let topic = match p.get("Topic") {
                            Some(Value::Tagged(t)) if t.tag.to_string().trim_start_matches('!') == "Ref" => {
                                t.value.as_str().map(str::to_owned)
                            }
                            _ => None,
                        }
                        .ok_or_else(|| invalid(format!("{id}.{name}: Topic is not a !Ref to a topic")))?;
                        let arn = self.reference(&topic)?;
                        f.topics.push(TopicSource { name, topic, arn });
                    }
                    Some(other) => f.other_events.push(other.to_owned()),
                    None => return Err(invalid(format!("{id}.{name}: an event without a Type"))),
                }
            }
        }
        for p in props.get("Policies").and_then(Value::as_sequence).into_iter().flatten() {
            let Some(statements) = p.get("Statement").and_then(Value::as_sequence) else {
                // A managed policy's name, or a SAM policy template (DynamoDBCrudPolicy…): this
                // reader does not expand them, and must not guess what they grant.
                return Err(invalid(format!(
                    "{id}: a policy that is not an inline document ({}): expand it in infra/stack/src/template.rs",
                    serde_json::to_string(&serde_json::to_value(p).unwrap_or_default()).unwrap_or_default()
                )));
            };
            for st in statements {
                let list = |k: &str| -> Result<Vec<String>, Error> {
                    match st.get(k) {
                        Some(Value::Sequence(items)) => items.iter().map(|i| self.resolve(i)).collect(),
                        Some(v) => Ok(vec![self.resolve(v)?]),
                        None => Ok(Vec::new()),
                    }
                };
                f.statements.push(Statement {
                    allow: st.get("Effect").and_then(Value::as_str) == Some("Allow"),
                    actions: list("Action")?,
                    resources: list("Resource")?,
                    condition: match st.get("Condition") {
                        Some(c) => Some(self.resolve_json(c)?),
                        None => None,
                    },
                });
            }
        }
        Ok(f)
    }

    /// A value with its intrinsic functions resolved, as JSON.
    pub fn resolve_json(&self, v: &Value) -> Result<serde_json::Value, Error> {
        Ok(match v {
            Value::Tagged(_) => serde_json::Value::String(self.resolve(v)?),
            Value::Mapping(m) => {
                let mut out = serde_json::Map::new();
                for (k, v) in m {
                    out.insert(k.as_str().unwrap_or_default().to_owned(), self.resolve_json(v)?);
                }
                serde_json::Value::Object(out)
            }
            Value::Sequence(s) => {
                serde_json::Value::Array(s.iter().map(|i| self.resolve_json(i)).collect::<Result<_, _>>()?)
            }
            other => serde_json::to_value(other).map_err(|e| invalid(e.to_string()))?,
        })
    }

    /// A scalar with its intrinsic functions resolved.
    pub fn resolve(&self, v: &Value) -> Result<String, Error> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Tagged(t) => self.intrinsic(t),
            other => Err(invalid(format!("not a scalar: {other:?}"))),
        }
    }

    fn intrinsic(&self, t: &TaggedValue) -> Result<String, Error> {
        let tag = t.tag.to_string();
        match (tag.trim_start_matches('!'), &t.value) {
            ("Ref", Value::String(name)) => self.reference(name),
            ("GetAtt", Value::String(path)) => {
                let (id, attr) = path.split_once('.').ok_or_else(|| invalid(format!("!GetAtt {path}")))?;
                self.attribute(id, attr)
            }
            ("Sub", Value::String(text)) => self.substitute(text),
            ("Join", Value::Sequence(args)) if args.len() == 2 => {
                let sep = self.resolve(&args[0])?;
                let parts = args[1].as_sequence().ok_or_else(|| invalid("!Join's second argument"))?;
                Ok(parts.iter().map(|p| self.resolve(p)).collect::<Result<Vec<_>, _>>()?.join(&sep))
            }
            (other, _) => Err(invalid(format!("!{other} is not resolved by the local stack"))),
        }
    }

    fn substitute(&self, text: &str) -> Result<String, Error> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let end = after.find('}').ok_or_else(|| invalid(format!("!Sub {text}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some((id, attr)) = name.split_once('.').filter(|_| !name.starts_with("AWS::")) {
                out.push_str(&self.attribute(id, attr)?);
            } else {
                out.push_str(&self.reference(name)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn partition(&self) -> &str {
        "aws"
    }

    /// What `!Ref name` gives.
    pub fn reference(&self, name: &str) -> Result<String, Error> {
        let s = &self.stack;
        match name {
            "AWS::Region" => return Ok(s.region.clone()),
            "AWS::AccountId" => return Ok(s.account.clone()),
            "AWS::Partition" => return Ok(self.partition().to_owned()),
            "AWS::StackName" => return Ok(s.name.clone()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".to_owned()),
            _ => {}
        }
        if let Some(p) = self.parameters.get(name) {
            if let Some(v) = s.parameters.get(name) {
                return Ok(v.clone());
            }
            return match p.get("Default") {
                Some(d) => self.resolve(d),
                None => Err(invalid(format!("parameter {name} has no value and no default"))),
            };
        }
        let kind = self.resource_type(name).ok_or_else(|| invalid(format!("!Ref {name}: no such resource")))?;
        let (stack, region, account, partition) = (&s.name, &s.region, &s.account, self.partition());
        Ok(match kind {
            "AWS::S3::Bucket" => format!("{stack}-{}", name.to_ascii_lowercase()),
            "AWS::SecretsManager::Secret" => {
                format!("arn:{partition}:secretsmanager:{region}:{account}:secret:{stack}-{name}-LOCAL0")
            }
            "AWS::SNS::Topic" => format!("arn:{partition}:sns:{region}:{account}:{stack}-{name}"),
            "AWS::SES::ConfigurationSet" => {
                match self.resources.get(name).and_then(|r| r.get("Properties")?.get("Name")) {
                    Some(n) => self.resolve(n)?,
                    None => format!("{stack}-{name}"),
                }
            }
            "AWS::Serverless::HttpApi" => "localapi".to_owned(),
            _ => format!("{stack}-{name}"),
        })
    }

    /// What `!GetAtt id.attr` gives.
    pub fn attribute(&self, id: &str, attr: &str) -> Result<String, Error> {
        let kind = self.resource_type(id).ok_or_else(|| invalid(format!("!GetAtt {id}.{attr}: no such resource")))?;
        let (region, account, partition) = (&self.stack.region, &self.stack.account, self.partition());
        let name = self.reference(id)?;
        Ok(match (kind, attr) {
            ("AWS::DynamoDB::Table", "Arn") => format!("arn:{partition}:dynamodb:{region}:{account}:table/{name}"),
            ("AWS::DynamoDB::Table", "StreamArn") => {
                format!("arn:{partition}:dynamodb:{region}:{account}:table/{name}/stream/local")
            }
            ("AWS::S3::Bucket", "Arn") => format!("arn:{partition}:s3:::{name}"),
            ("AWS::S3::Bucket", "RegionalDomainName") => match &self.stack.s3_domain {
                Some(local) => local.clone(),
                None => format!("{name}.s3.{region}.amazonaws.com"),
            },
            _ => format!("{name}.{attr}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_wildcards() {
        assert!(glob("arn:s3:::b/uploads/*/-news/*", "arn:s3:::b/uploads/t/-news/a/1"));
        assert!(!glob("arn:s3:::b/uploads/*/-news/*", "arn:s3:::b/uploads/t/f/1"));
        assert!(glob("dynamodb:*", "dynamodb:query"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("abc", "abcd"));
    }

    #[test]
    fn intrinsics_resolve_to_the_local_stack() {
        let t = Template::parse(
            r#"
Parameters:
  Url: { Type: String, Default: "https://x" }
Resources:
  Table: { Type: AWS::DynamoDB::Table }
  Bucket: { Type: AWS::S3::Bucket }
  F:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: f } }
    Properties:
      Environment: { Variables: { T: !Ref Table, U: !Ref Url, B: !Sub "${Bucket.Arn}/x/${AWS::Region}" } }
      Policies:
        - Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem]
              Resource: [!GetAtt Table.Arn, !Sub "${Table.Arn}/index/gsi1"]
      Events:
        A: { Type: HttpApi, Properties: { Path: "/a/{b}", Method: get } }
        S: { Type: Schedule, Properties: { Schedule: rate(1 minute), Input: '{"job": "x"}' } }
"#,
            Stack::local(&[]),
        )
        .expect("template");
        let f = t.function("F").expect("F");
        assert_eq!(f.env["T"], "espace-famille-Table");
        assert_eq!(f.env["U"], "https://x");
        assert_eq!(f.env["B"], "arn:aws:s3:::espace-famille-bucket/x/eu-west-3");
        assert!(f.allows("dynamodb:GetItem", "arn:aws:dynamodb:eu-west-3:123456789012:table/espace-famille-Table"));
        assert!(!f.allows("dynamodb:PutItem", "arn:aws:dynamodb:eu-west-3:123456789012:table/espace-famille-Table"));
        assert_eq!(f.routes, [Route { method: "GET".into(), path: "/a/{b}".into() }]);
        assert_eq!(f.schedules[0].input.as_deref(), Some(r#"{"job": "x"}"#));
    }

    #[test]
    fn the_local_bucket_address_is_the_regional_domain_name_the_csp_names() {
        let mut stack = Stack::local(&[("PublicUrl", "http://127.0.0.1:3000"), ("SenderEmail", "m@example.test")]);
        stack.s3_domain = Some("127.0.0.1:4443".into());
        let t = Template::parse(include_str!("../../../template.yaml"), stack).expect("template.yaml");
        let headers = crate::aws::security_headers(&t).expect("the headers policy");
        let csp = headers.iter().find(|(n, _, _)| n == "content-security-policy").expect("a CSP");
        assert!(
            csp.1.to_str().unwrap_or_default().contains("connect-src 'self' https://127.0.0.1:4443;"),
            "{:?}",
            csp.1
        );
    }

    #[test]
    fn the_project_template_reads() {
        let t = Template::parse(
            include_str!("../../../template.yaml"),
            Stack::local(&[("PublicUrl", "http://127.0.0.1:3000"), ("SenderEmail", "mairie@example.test")]),
        )
        .expect("template.yaml");
        assert_eq!(t.functions.len(), 16, "{:?}", t.functions.iter().map(|f| &f.id).collect::<Vec<_>>());
        let towns = t.function("TownsFunction").expect("towns");
        assert_eq!(towns.binary, "towns");
        assert_eq!(towns.env["TABLE_NAME"], "espace-famille-Table");
        assert!(towns.env["OPERATOR_TOKEN_SECRET"].starts_with("arn:aws:secretsmanager:"));
    }
}
