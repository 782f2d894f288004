#!/usr/bin/env python3
"""Cold start of each Lambda function's release binary against a bare lambda_http hello-world.

For each binary: start a Lambda Runtime API on loopback, spawn the binary with
AWS_LAMBDA_RUNTIME_API pointing at it, hand it one API Gateway v2 event on one of its own routes
(taken from template.yaml), and time from the spawn to the response it posts. Runs alternate
between binaries (so a busy moment of the machine spreads over all of them); the medians and
each function's ratio to the hello-world are printed as a Markdown table.

Two events:
  --event anonymous  no session cookie: the function answers 401 without any storage call; the
                     baseline is `hello`;
  --event session    an unknown session cookie: the function reads DynamoDB (the session item)
                     before answering 401; the baseline is `hello-dynamodb`, a bare function that
                     makes the same one read with the SDK's defaults (the ratio is then what the
                     function costs over the read it cannot avoid). Needs AWS_ENDPOINT_URL (a moto
                     server); the table is created once.

Usage: bench/coldstart.py [--runs N] [--event anonymous|session] [--target DIR] [FUNCTION[@DIR] ...]
Build first: bench/build (the release binaries for x86_64, as the Lambdas are built for arm64).
"""
import argparse, http.server, json, os, statistics, subprocess, sys, threading, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HTTP_FUNCTIONS = ["towns", "accounts", "calendar", "basket", "news", "staff", "documents", "invoices"]
# Where cargo lambda (bench/build) leaves each binary: target/lambda/<name>/bootstrap.
TARGET = os.path.join(ROOT, "target", "lambda")


def binary_path(folder, name):
    """`folder/name/bootstrap` (cargo lambda's layout), else `folder/name` (cargo's)."""
    nested = os.path.join(folder, name, "bootstrap")
    return nested if os.path.isfile(nested) else os.path.join(folder, name)
VALUES = {"town": "villeneuve-les-tilleuls", "family": "martin", "child": "lea-martin", "month": "2026-11"}
TABLE = "ef-coldstart"


# A route of theirs that needs a session (their first ones, login and the public news, read the
# store even without one).
PREFERRED = {"accounts": ("GET", "/api/towns/{town}/auth/session"), "news": ("GET", "/api/towns/{town}/staff/news")}


def routes():
    """Each binary's first HttpApi event in template.yaml (or its PREFERRED one, checked to be in
    the template): (method, concrete path)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    # Every CloudFormation short form (the template's conditions use !And, !Or…): values this
    # script does not read.
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    with open(os.path.join(ROOT, "template.yaml")) as f:
        template = yaml.load(f, Loader=Loader)
    out = {}
    for resource in template["Resources"].values():
        binary = ((resource.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
        events = (resource.get("Properties") or {}).get("Events") or {}
        for event in events.values():
            if event.get("Type") != "HttpApi" or not binary or binary in out:
                continue
            wanted = PREFERRED.get(binary)
            if wanted and (event["Properties"]["Method"], event["Properties"]["Path"]) != wanted:
                continue
            path = event["Properties"]["Path"]
            for name, value in VALUES.items():
                path = path.replace("{" + name + "}", value)
            while "{" in path:
                start = path.index("{")
                path = path[:start] + "x" + path[path.index("}", start) + 1:]
            out[binary] = (event["Properties"]["Method"], path)
    return out


def event(method, path, cookie):
    headers = {"host": "portail.test", "user-agent": "coldstart", "x-forwarded-for": "203.0.113.7"}
    if cookie:
        headers["cookie"] = cookie
    return json.dumps({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "cookies": [cookie] if cookie else [], "headers": headers, "isBase64Encoded": False,
        "requestContext": {
            "accountId": "000000000000", "apiId": "local", "domainName": "portail.test", "domainPrefix": "portail",
            "requestId": "coldstart", "routeKey": "$default", "stage": "$default", "time": "01/Dec/2026:08:00:00 +0000",
            "timeEpoch": 1796112000000,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "coldstart"},
        },
    }).encode()


class Runtime(http.server.ThreadingHTTPServer):
    """A Runtime API that gives one event, then records when and what the function answered."""

    daemon_threads = True

    def __init__(self, body):
        self.body, self.given, self.answered, self.status = body, False, threading.Event(), None
        super().__init__(("127.0.0.1", 0), Handler)


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        if not self.path.endswith("/runtime/invocation/next") or server.given:
            server.answered.wait(30)  # one invocation per process
            return
        server.given = True
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "run")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-3:000000000000:function:f")
        self.send_header("Content-Length", str(len(server.body)))
        self.end_headers()
        self.wfile.write(server.body)

    def do_POST(self):
        data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server = self.server
        server.done_at = time.perf_counter()
        try:
            server.status = json.loads(data).get("statusCode")
        except ValueError:
            server.status = "?"
        self.send_response(202)
        self.end_headers()
        server.answered.set()


def once(binary, body, env):
    server = Runtime(body)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}")
    started = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=None if os.environ.get("COLDSTART_DEBUG") else subprocess.DEVNULL)
    ok = server.answered.wait(30)
    proc.kill()
    proc.wait()
    server.shutdown()
    if not ok:
        raise SystemExit(f"{binary}: no answer in 30 s")
    return (server.done_at - started) * 1000, server.status


def create_table(endpoint):
    import boto3

    db = boto3.client("dynamodb", endpoint_url=endpoint, region_name="eu-west-3",
                      aws_access_key_id="test", aws_secret_access_key="test")
    if TABLE in db.list_tables()["TableNames"]:
        return
    db.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "gsi1", "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"}, {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
        }],
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--event", choices=["anonymous", "session"], default="anonymous")
    ap.add_argument("--target", default=TARGET)
    ap.add_argument("functions", nargs="*", default=HTTP_FUNCTIONS)
    args = ap.parse_args()
    env = dict(os.environ, TABLE_NAME=TABLE, AWS_REGION="eu-west-3", AWS_ACCESS_KEY_ID="test",
               AWS_SECRET_ACCESS_KEY="test", PUBLIC_URL="https://portail.test", DOCUMENTS_BUCKET="ef-coldstart",
               SENDER_EMAIL="portail@portail.test", CONTACT_EMAIL="contact@portail.test", TRUSTED_PROXIES="0",
               OPERATOR_TOKEN_SECRET="ef-operator", RUST_LOG="off", AWS_EC2_METADATA_DISABLED="true",
               AWS_LAMBDA_FUNCTION_NAME="coldstart", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256", AWS_LAMBDA_LOG_STREAM_NAME="coldstart",
               AWS_LAMBDA_LOG_GROUP_NAME="coldstart")
    cookie = None
    if args.event == "session":
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        if not endpoint:
            raise SystemExit("--event session needs AWS_ENDPOINT_URL (a moto server)")
        create_table(endpoint)
        cookie = "ef_session=" + "0" * 43
    else:
        # No storage call is made; a dead endpoint makes sure of it.
        env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
    table = routes()
    # `calendar@DIR` takes that binary from DIR (to compare two builds in one alternating run).
    baseline = "hello-dynamodb" if args.event == "session" else "hello"
    cases = [(baseline, "GET", "/hello")] + [(f, *table[f.split("@")[0]]) for f in args.functions]
    times = {name: [] for name, _, _ in cases}
    statuses = {}
    for _ in range(args.runs):
        for name, method, path in cases:
            binary, _, folder = name.partition("@")
            ms, status = once(binary_path(folder or args.target, binary), event(method, path, cookie), env)
            times[name].append(ms)
            statuses[name] = status
    base = statistics.median(times[baseline])
    print(f"{args.runs} runs each, alternating, event « {args.event} »; medians on this machine\n")
    print(f"| binary | route | answer | median | ratio to {baseline} |")
    print("|---|---|---|---|---|")
    for name, method, path in cases:
        m = statistics.median(times[name])
        print(f"| {name} | {method} {path} | {statuses[name]} | {m:.1f} ms | {m / base:.2f}× |")


if __name__ == "__main__":
    main()
