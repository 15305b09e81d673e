"""The offline side of features: Parquet stores, the event export and point-in-time training rows.

Modules, imported one by one on purpose (this package does not re-export them): the serving path
imports only ``served_log``, and must not pay for importing DuckDB.

* ``parquet_io`` - atomic Parquet writes and partition paths, shared by every writer here;
* ``feature_log`` - ``OfflineFeatureStore``, the append-only history of feature values;
* ``event_export`` - ``export_events``, the event log to Parquet, incrementally by offset;
* ``pit_join`` - ``build_training_rows``, one row per impression with labels and the feature values
  known at the impression's time (DuckDB ASOF joins);
* ``default_fill`` - ``fill_defaults``, the one place where missing feature values become numbers;
* ``served_log`` - ``ServedFeatureLog``, the buffered sink of the feature values serving used;
* ``logged_join`` - ``join_logged_features``, attaches those logged values to training rows.
"""
