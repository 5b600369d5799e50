#!/usr/bin/env python3
"""Reads a STIX 2.1 bundle with the stix2 library (OASIS's), strictly, and prints what it holds, one
line per object kind, for ObserveTests to compare: `TYPE VALUE...`, sorted."""
import json
import sys

import stix2

bundle = stix2.parse(open(sys.argv[1]).read(), allow_custom=False, version="2.1")
lines = []
ids = {o.id for o in bundle.objects}
for o in bundle.objects:
    if o.type == "file":
        lines.append(f"file {o.name} {o.hashes['SHA-256']} {o.size}")
    elif o.type == "malware":
        lines.append(f"malware {o.name} samples={len(o.sample_refs)}")
    elif o.type in ("domain-name", "ipv4-addr", "url"):
        resolves = len(getattr(o, "resolves_to_refs", []) or [])
        lines.append(f"{o.type} {o.value}" + (f" resolves={resolves}" if resolves else ""))
    elif o.type == "observed-data":
        lines.append(f"observed-data {o.number_observed} {o.first_observed.isoformat()}")
    elif o.type == "relationship":
        assert o.source_ref in ids and o.target_ref in ids, "a relationship to an object not in the bundle"
        lines.append(f"relationship {o.relationship_type}")
    for ref in list(getattr(o, "sample_refs", []) or []) + list(getattr(o, "object_refs", []) or []) + list(getattr(o, "resolves_to_refs", []) or []):
        assert ref in ids, f"{o.id} refers to {ref}, not in the bundle"
# The library's own deterministic identifier for each observable must be the one written.
for o in bundle.objects:
    if o.type in ("domain-name", "ipv4-addr", "url"):
        again = getattr(stix2, {"domain-name": "DomainName", "ipv4-addr": "IPv4Address", "url": "URL"}[o.type])(value=o.value)
        assert again.id == o.id, f"{o.id} is not STIX's id for {o.value} ({again.id})"
    if o.type == "file":
        assert stix2.File(hashes={"SHA-256": o.hashes["SHA-256"]}).id == o.id, f"{o.id} is not STIX's id for the file"
print("\n".join(sorted(lines)))
