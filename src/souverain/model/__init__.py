"""The results as typed, frozen values: evidence, observations, dependencies, scans, assessments,
survey rows. Every output (JSON, CSV, Parquet, SARIF, HTML, terminal, store) is produced from
these; ``model.schema`` gives their JSON Schema. This package imports nothing else of souverain.
"""
