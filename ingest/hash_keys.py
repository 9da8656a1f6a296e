"""Which hash key the lake's hashes were made with, and the checks that keep one key per lake.

A keyed hash (ingest/pii.py) is only useful while every row was hashed with the same key: the
same phone hashed under two keys is two strangers to OneID, and a build over such a lake splits
people silently. The version label alone cannot catch the dangerous case, a changed secret under
an unchanged label (a mistyped or re-generated secret in a deployment's environment). So the lake
records a *fingerprint* of its key at the first load, in ``<lake>/_hash_key.json``:

* the version label, and
* the first 16 hex digits of HMAC-SHA256(secret, ``CANARY``), a fixed text: two secrets give two
  fingerprints, and the fingerprint gives nothing that the lake's hashes themselves do not (each
  stored hash is already an HMAC of a known-format value under the same secret). 64 bits: a
  changed secret passes unnoticed with probability 2^-64.

Every load checks the key it was given against the record before it writes anything
(``check_load_key``, called by ``ingest.engine.load_tables``); the build checks that the lake's
rows carry one version (``row_key_versions``) and that the served warehouse's identity registry
was built under the lake's key (orchestration/hash_key_guard.py). The only way from one key to
another is ``python -m orchestration.rekey`` (docs/privacy.md, "Rotating the hash key").
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import duckdb

from ingest.atomic import write_json
from ingest.lake import LEDGER, RAW, all_ledger_rows, is_data_file, table_glob
from ingest.pii import DEMO_KEY, DEMO_KEY_VERSION, HashKey
from ingest.settings import Paths

KEY_FILE = "_hash_key.json"
CANARY = b"quanyu/hash-key-fingerprint/v1"
FINGERPRINT_DIGITS = 16
REKEY_COMMAND = "python -m orchestration.rekey"
HOW_TO_ROTATE = (f"to rotate, set the new key as QUANYU_HASH_KEY / QUANYU_HASH_KEY_VERSION (a new version label), the "
                 f"old one as QUANYU_HASH_KEY_PREVIOUS / QUANYU_HASH_KEY_PREVIOUS_VERSION, and run `{REKEY_COMMAND}` "
                 f"(docs/privacy.md, \"Rotating the hash key\")")


class HashKeyError(Exception):
    """A hash key does not fit the lake or the warehouse; the message says which, and what to do."""


class HashKeyMismatchError(HashKeyError):
    """A load was given another key than the one the lake's rows were hashed with."""


class MixedKeyVersionsError(HashKeyError):
    """The lake's rows, or the lake and the warehouse's registry, carry more than one key."""


class KeyFingerprint(NamedTuple):
    """A key's version label and fingerprint: what may be written down about a key."""

    version: str
    fingerprint: str

    def __str__(self) -> str:
        return f"version {self.version!r} (fingerprint {self.fingerprint})"


def fingerprint(key: HashKey) -> KeyFingerprint:
    digest = hmac.new(key.secret, CANARY, hashlib.sha256).hexdigest()
    return KeyFingerprint(key.version, digest[:FINGERPRINT_DIGITS])


def previous_key_from_env(env: Mapping[str, str] | None = None) -> HashKey | None:
    """The key being rotated away from: ``QUANYU_HASH_KEY_PREVIOUS`` and
    ``QUANYU_HASH_KEY_PREVIOUS_VERSION`` (both required together); None when neither is set."""
    env = os.environ if env is None else env
    secret, version = env.get("QUANYU_HASH_KEY_PREVIOUS", ""), env.get("QUANYU_HASH_KEY_PREVIOUS_VERSION", "")
    if not secret and not version:
        return None
    if version == DEMO_KEY_VERSION and not secret:
        return HashKey(DEMO_KEY.encode(), DEMO_KEY_VERSION)
    if not secret or not version:
        missing = "QUANYU_HASH_KEY_PREVIOUS" if not secret else "QUANYU_HASH_KEY_PREVIOUS_VERSION"
        raise HashKeyError(f"the previous hash key is half given: {missing} is not set; set both the old secret "
                           f"and its version label (the version the lake's rows carry)")
    return HashKey(secret.encode(), version)


def key_file(paths: Paths) -> Path:
    return paths.lake / KEY_FILE


def recorded_key(paths: Paths) -> KeyFingerprint | None:
    """The lake's key as recorded at its first load (None for a lake never loaded with the record)."""
    path = key_file(paths)
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return KeyFingerprint(data["version"], data["fingerprint"])


def record_key(paths: Paths, key: HashKey) -> KeyFingerprint:
    """Write the lake's key record (atomically: a reader sees the old record or the new one)."""
    found = fingerprint(key)
    write_json(key_file(paths), {"version": found.version, "fingerprint": found.fingerprint,
                                 "canary": CANARY.decode(), "digits": FINGERPRINT_DIGITS,
                                 "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
    return found


def lake_has_loads(paths: Paths) -> bool:
    """Whether any ledger entry exists (a lake with none holds no hash, whatever its record says)."""
    return any(is_data_file(p) for p in (paths.lake / LEDGER).glob("*/*.parquet"))


def ledger_key_versions(paths: Paths) -> dict[str, int]:
    """Key version -> landing files loaded under it, from the load ledger."""
    return {version: files for version, files in
            all_ledger_rows(paths, "hash_key_version, count(*)", "group by 1 order by 1")}


def row_key_versions(paths: Paths) -> dict[str, int]:
    """Key version -> raw rows carrying it, over every raw table of the lake (read it inside
    ``ingest.lake.reading``: a compaction running meanwhile could count a file twice)."""
    if not any(is_data_file(p) for p in (paths.lake / RAW).glob("*/*.parquet")):
        return {}
    with duckdb.connect() as con:
        rows = con.execute(f"select _hash_key_version, count(*) from read_parquet('{table_glob(paths, RAW)}', "
                           f"union_by_name = true) group by 1 order by 1").fetchall()
    return {str(version): count for version, count in rows}


def describe_counts(counts: Mapping[str, int], unit: str) -> str:
    return ", ".join(f"{version!r}: {count:,} {unit}" for version, count in sorted(counts.items()))


def _mismatch(paths: Paths, recorded: KeyFingerprint, given: KeyFingerprint) -> HashKeyMismatchError:
    if recorded.version == given.version:
        what = (f"QUANYU_HASH_KEY is now a different secret under the same version label {given.version!r} "
                f"(fingerprint {given.fingerprint}); a new secret needs a new version label")
    else:
        what = f"the key given is {given}"
    return HashKeyMismatchError(
        f"lake {paths.lake}: its rows were hashed with hash key {recorded}, but {what}. Nothing was loaded: "
        f"hashing new files with another key would give the same people other hashes and split them in "
        f"OneID. Restore the lake's key {recorded.version!r}, or {HOW_TO_ROTATE}")


def check_load_key(paths: Paths, key: HashKey) -> KeyFingerprint:
    """Before a load writes anything: the key must be the lake's; the first load records it.

    A lake loaded before the record existed (ledger entries, no ``_hash_key.json``) is adopted
    when every ledger entry carries ``key``'s version: a changed secret under that version cannot
    be told apart there, which is why the record is written from the first load on. A lake with a
    record but no ledger entry holds no hash: the record is replaced.
    """
    given = fingerprint(key)
    recorded = recorded_key(paths)
    if recorded == given:
        return given
    if recorded is None:
        versions = ledger_key_versions(paths) if lake_has_loads(paths) else {}
        if set(versions) - {key.version}:
            raise HashKeyMismatchError(
                f"lake {paths.lake}: its ledger lists files hashed under key versions "
                f"{describe_counts(versions, 'files')}, but the key given is {given}. Nothing was loaded. "
                f"Restore the lake's key, or {HOW_TO_ROTATE}")
        return record_key(paths, key)
    if not lake_has_loads(paths):
        return record_key(paths, key)
    raise _mismatch(paths, recorded, given)
