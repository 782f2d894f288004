"""Validates an XML file against an XSD: `validate_xsd.py SCHEMA.xsd FILE.xml`. Exit 0 when
valid; otherwise prints every error and exits 1. Used by the payments tests (the pain.008 file)."""
import sys

import xmlschema

schema = xmlschema.XMLSchema(sys.argv[1])
errors = list(schema.iter_errors(sys.argv[2]))
for e in errors:
    print(f"{e.path}: {e.reason}")
sys.exit(1 if errors else 0)
