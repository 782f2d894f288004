"""A bounded schemathesis run against the local portal, from its own OpenAPI document, twice:
anonymous, then as a logged-in guardian (Sophie Martin of the demo town). Checks: no server
error, status codes and content types as documented, responses as their schema says. Exits
non-zero on any finding. Run by scripts/test (EF_BIN names the portal's binary).

Usage: python scripts/fuzz_api.py [max examples per operation, default 5]
"""

import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

TOWN = "villeneuve-les-tilleuls"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def start(binary: str, data: str) -> tuple[subprocess.Popen, str]:
    portal = subprocess.Popen(
        [binary, "--addr", "127.0.0.1:0", "--data-dir", data, "--reset", "--frozen-clock", "2026-11-26T09:00:00Z"],
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    assert portal.stdout is not None
    for line in portal.stdout:
        m = re.search(r"Portail\s+: (http://127\.0\.0\.1:\d+)/", line)
        if m:
            return portal, m.group(1)
        if time.monotonic() > deadline:
            break
    portal.kill()
    sys.exit("the local portal did not start")


def login(base: str) -> list[str]:
    """The headers of Sophie's session: its cookie and CSRF token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    body = json.dumps({"email": "sophie.martin@exemple.fr", "password": "tilleuls-demo-2026"}).encode()
    req = urllib.request.Request(
        f"{base}/api/towns/{TOWN}/auth/login", data=body, headers={"content-type": "application/json"}, method="POST"
    )
    session = json.load(opener.open(req))
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return ["-H", f"Cookie: {cookie}", "-H", f"x-csrf-token: {session['csrf_token']}"]


# As Sophie, the path names her town, family and child, so that requests reach past the checks
# of who may see what (the anonymous run leaves them free).
GUARDIAN_PARAMETERS = """
[parameters]
"path.town" = "villeneuve-les-tilleuls"
"path.family" = "martin"
"path.child" = "lea-martin"
"""


def fuzz(schemathesis: str, base: str, examples: str, headers: list[str], label: str, config: str = "") -> int:
    print(f"== schemathesis ({label}), {examples} examples per operation", flush=True)
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(config)
    args = [
        schemathesis, "--config-file", f.name, "run", f"{base}/api/openapi.yaml", "--url", base,
        "--checks", CHECKS, "--max-examples", examples, "--seed", "2026", "--phases", "examples,coverage,fuzzing",
        "--workers", "2", "--no-color", "--suppress-health-check", "all", "--generation-database", "none",
        "--request-timeout", "20",
        *headers,
    ]
    try:
        return subprocess.run(args, check=False).returncode
    finally:
        os.unlink(f.name)


def main() -> None:
    binary = os.environ.get("EF_BIN") or sys.exit("EF_BIN names the espace-famille-local binary")
    examples = sys.argv[1] if len(sys.argv) > 1 else "5"
    schemathesis = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    data = tempfile.mkdtemp(prefix="ef-fuzz-")
    portal, base = start(binary, data)
    try:
        failed = fuzz(schemathesis, base, examples, [], "anonymous")
        # Logging out would end the session the rest of the run uses.
        session = [*login(base), "--exclude-path", "/api/towns/{town}/auth/logout"]
        failed |= fuzz(schemathesis, base, examples, session, "logged-in guardian", GUARDIAN_PARAMETERS)
    finally:
        portal.terminate()
        portal.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
