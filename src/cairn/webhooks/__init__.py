"""Registry webhooks: deliveries of registry events to subscribed URLs, MLflow's way.

The registry store writes one outbox row per delivery inside the transaction that records the
event (:mod:`cairn.store.registry.sql_webhooks`); a background :mod:`dispatcher` per database
sends them (:mod:`sender`), signed as MLflow signs them (:mod:`signing`), and records every
attempt (:mod:`outbox`). :mod:`rules` holds what a webhook may be; :mod:`wire` its JSON.
"""
