"""Offline capacity model: how fast N CI jobs start on this stack, what limits it, what it costs.

    python -m components capacity --stack dev --jobs 1000 [--set KEY=VALUE] [--json]

`model` holds the pure model (frozen dataclasses + functions), `prices` the price table,
`inputs` turns a parsed stack config into the model's inputs, `report` builds the JSON
document, `text` the table a person reads, and `cli` the command line.
"""
