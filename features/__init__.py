"""Point-in-time feature pipelines, the same offline (training) and online (serving).

Declared once per feature (entity, window, source table, label delay, dtype); the offline
builder and the online reader are generated from those declarations. May import
`data_contracts` only. Arrives with issue 4.
"""
