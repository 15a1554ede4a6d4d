"""Offline capacity model: how fast N CI jobs start on this stack, what limits it, what it costs.

    python -m components.capacity --stack dev --jobs 200 [--json]

`model` holds the pure model (frozen dataclasses + functions), `prices` the price table and
`__main__` the command line, which reads Pulumi.<stack>.yaml without any cloud call.
"""
