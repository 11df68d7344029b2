"""gridops: grid mapping and dispatch for community grid governance (网格化治理).

The rooms, from the bottom up: `geo` (pure geometry), `core` (configuration, the
database, the models, the clock, domain errors), the capabilities (`access`,
`reference`, `boundaries`, `incidents`, `field`, `analytics`, `planning`), `demo`,
and the adapters `web` and `cli`. The import rules between them are contracts in
pyproject.toml, checked by `make test`.
"""

__version__ = "0.1.0"
