"""Dagster definitions for Quanyu: ingest assets, dbt assets, checks, jobs and schedules."""
