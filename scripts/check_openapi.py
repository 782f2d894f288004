"""Checks docs/openapi.yaml: a valid OpenAPI 3.1 document, and the same routes as the SAM
template's HTTP API events (so what is deployed is what is documented). The Rust test
`openapi_routes_are_all_served` checks the other side: every documented route is routed."""

import sys

import yaml
from cfnlint.decode import decode
from openapi_spec_validator import validate

METHODS = {"get", "post", "put", "delete", "patch"}

spec = yaml.safe_load(open("docs/openapi.yaml", encoding="utf-8"))
validate(spec)
documented = {(m, p) for p, ops in spec["paths"].items() for m in ops if m in METHODS}

template, problems = decode("template.yaml")
if problems:
    sys.exit(f"template.yaml: {problems}")
deployed = set()
for resource in template["Resources"].values():
    for event in (resource.get("Properties", {}).get("Events") or {}).values():
        if event.get("Type") == "HttpApi":
            props = event["Properties"]
            deployed.add((props["Method"].lower(), props["Path"]))

missing = sorted(documented - deployed)
undocumented = sorted(deployed - documented)
if missing or undocumented:
    sys.exit(f"OpenAPI and template.yaml disagree:\n  documented, not deployed: {missing}\n  deployed, not documented: {undocumented}")
print(f"openapi: {len(documented)} operations, valid, matching template.yaml")
