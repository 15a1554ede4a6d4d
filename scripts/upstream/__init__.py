"""Fact extractors for scripts/upstream_facts.py, one module per upstream source.

Each `*_facts(src, ref, repo)` reads a fetched upstream tree and returns the JSON-ready facts
with their provenance; `go_structs` holds the Go struct and text helpers they share.
"""

GENERATOR = "scripts/upstream_facts.py"  # recorded as provenance in every fact file
