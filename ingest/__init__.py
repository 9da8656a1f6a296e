"""Ingest: landing files -> raw Parquet tables, one declared contract per channel.

Entry point: :func:`ingest.engine.load_table`.
"""
