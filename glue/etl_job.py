"""The transform step: staging (JSON Lines text, or typed Parquet) of one source file -> typed,
deduplicated, partitioned Snappy Parquet in the curated lake, plus the file's manifest.

One self-contained script, because Glue runs a single uploaded file (extra modules would need
--extra-py-files). The thin entry point at the bottom parses arguments (Glue's getResolvedOptions
when awsglue is importable, argparse otherwise) and does I/O; everything it calls is a plain
function that the tests in glue/tests import directly.

It executes the TransformPlan that core/plan.ts compiles from the dataset contract (plan.json,
written by the validate step into the staging prefix). It never re-derives rules from the
contract, so this job and the embedded DuckDB engine (transform/duckdb.ts) run the same plan.

Output contract (shared with the DuckDB engine, proven by test/parity):
  curated/<dataset>/<key>=<value>/<sourceId>.snappy.parquet  one object per (file, partition value)
  curated/<dataset>/<sourceId>.snappy.parquet                 one object per file (no partition)
  manifests/<dataset>/<sourceId>.json                         core/steps.ts TransformManifest
Parquet types: string -> UTF8, integer -> INT64, decimal(p,s) -> DECIMAL(p,s), double -> DOUBLE,
boolean -> BOOLEAN, date -> DATE, timestamp -> TIMESTAMP(isAdjustedToUTC, MICROS). The partition
key is the folder only, never inside the files; the value is a date's day, the day/month/year of
a date or of a timestamp's UTC instant, or a string's own value (core/plan.ts PlanPartition). The
source column stays inside the files when the key is derived from it (partition.keepColumn).

Run locally:
  .venv/bin/python glue/etl_job.py --staging <dir> --lake <dir> --dataset registrations \
      --source_id <id> --version_tag <tag>
On Glue the same arguments are job arguments and the locations are s3:// URIs.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import re
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol, Sequence
from urllib.parse import urlparse

PLAN_VERSION = 2
LINE_COLUMN = "_line"
STAGING_SUCCESS = "_SUCCESS"
PLAN_FILE = "plan.json"
# In-flight work in the lake: outside curated/ and manifests/, so no reader ever sees it. Under
# the lake bucket's tmp/ prefix, which the stack's job role may write and delete and whose
# lifecycle rule expires what a killed run leaves behind (infra/constructs/lake-storage.ts).
LAKE_TMP_PREFIX = "tmp/transform/"
# Exactly the part names the DuckDB engine reads (transform/request.ts), so both read the same:
# JSON Lines parts, Parquet parts, or CSV parts with at most one JSON Lines part beside them
# (core/staging.ts), never another mix in one prefix.
STAGING_PART = re.compile(r"^part-\d{5}\.(?:jsonl|parquet|csv)$")
# What a quoted empty field (`""`) of a CSV staging part reads as, to tell it from an unquoted empty
# one (NULL), which Spark's CSV reader otherwise makes the same. A NUL can be no value: the validate
# step refuses a file holding a NUL byte (csv/inspect-bytes.ts).
CSV_QUOTED_EMPTY = "\u0000"
COLUMN_TYPES = ("string", "integer", "decimal", "double", "boolean", "date", "timestamp")
# The same identifier rule the contract loader applies (core/contract.ts): names become Parquet
# column names and folder names, so anything else in a plan means it was not compiled by us.
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,127}$")
# core/dataset-name.ts: a dataset (the key segment after incoming/) may have hyphens; its table
# name (an identifier) is plan["table"].
DATASET_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
# core/plan.ts PARTITION_VALUE: a folder value safe in S3 keys, Hive folders, Spark and DuckDB, and
# never starting with `_` (so no engine sentinel such as __HIVE_DEFAULT_PARTITION__ passes for one).
PARTITION_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
# The one column the write partitions by, internal to the temp prefix (transform/duckdb.ts uses
# the same): the plan's folder value, or NO_PARTITION for every row of a table without one.
PARTITION_COLUMN = "__etl_partition__"
NO_PARTITION = "all"
# core/contract.ts CONTRACT_DEFAULTS.maxRowsPerFile (core/plan.ts DEFAULT_MAX_ROWS_PER_FILE): the
# bound of a plan written before plans carried output.maxRowsPerFile.
DEFAULT_MAX_ROWS_PER_FILE = 5_000_000
GRANULARITY_FORMAT = {"day": "yyyy-MM-dd", "month": "yyyy-MM", "year": "yyyy"}
# core/layout sourceIdOf() and versionTagOf() shapes, as transform/request.ts checks them.
SOURCE_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
VERSION_TAG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# core/events.ts: a sequencerOrderKey (64 upper-case hex digits, string order = S3 event order),
# or UNORDERED_SOURCE when the event carried no usable sequencer.
SOURCE_ORDER_KEY = re.compile(r"^[0-9A-F]{64}$")
UNORDERED_SOURCE = "unordered"
TEMP_KEY = re.compile(r"^(?!curated/|manifests/|staging/)(?:[A-Za-z0-9_=.-]+/)*[A-Za-z0-9_=.-]+/?$")
# Printed on stdout/stderr so a caller (transform/spark.ts) can find the outcome among Spark's
# own log lines.
RESULT_MARK = "ETL_JOB_RESULT "
ERROR_MARK = "ETL_JOB_ERROR "

log = logging.getLogger("etl_job")


class TransformInputError(Exception):
    """The job's input is unusable (missing _SUCCESS, broken plan, bad argument). The message
    names the location or field and the fix; retrying without fixing the input cannot help."""


# --------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------


def load_plan(text: str, where: str) -> dict[str, Any]:
    """Parses and checks a plan.json (core/plan.ts TransformPlan). Every problem names `where`,
    the field and the fix, because a plan this job cannot execute faithfully must stop it."""

    def bad(field: str, problem: str, fix: str) -> TransformInputError:
        return TransformInputError(f"{where}: {field}: {problem}. Fix: {fix}")

    def check_type(t: Any, field: str) -> None:
        if not isinstance(t, dict) or t.get("type") not in COLUMN_TYPES:
            raise bad(field, f"has no known type ({t!r})", f"use one of {COLUMN_TYPES}")
        if t["type"] == "decimal":
            p, s = t.get("precision"), t.get("scale")
            if not (isinstance(p, int) and isinstance(s, int) and 1 <= p <= 38 and 0 <= s <= p):
                raise bad(field, f"decimal({p},{s}) is not a valid precision/scale", "fix the contract")

    try:
        plan = json.loads(text)
    except json.JSONDecodeError as e:
        raise bad("(file)", f"not valid JSON ({e})", "re-run the validate step to rewrite plan.json")
    if not isinstance(plan, dict):
        raise bad("(file)", "not a JSON object", "re-run the validate step to rewrite plan.json")
    if plan.get("planVersion") != PLAN_VERSION:
        raise bad(
            "planVersion",
            f"is {plan.get('planVersion')!r}, this job executes version {PLAN_VERSION}",
            "deploy the Glue job built from the same commit as the validate step",
        )
    if not isinstance(plan.get("dataset"), str) or not DATASET_NAME.match(plan["dataset"]):
        raise bad("dataset", f"{plan.get('dataset')!r} is not a dataset name", "fix the contract")
    if not isinstance(plan.get("table"), str) or not IDENTIFIER.match(plan["table"]):
        raise bad("table", f"{plan.get('table')!r} is not a lower-case identifier", "fix the contract")
    staging = plan.get("stagingColumns")
    if not isinstance(staging, list) or not staging or not all(isinstance(s, str) for s in staging):
        raise bad("stagingColumns", "must be a non-empty list of names", "re-run validate")
    for s in staging:
        if not IDENTIFIER.match(s):
            raise bad("stagingColumns", f"{s!r} is not an identifier", "fix the contract")
    types = plan.get("stagingTypes")
    if not isinstance(types, dict):
        raise bad("stagingTypes", "missing", "re-run validate (plans carry a type per staging column)")
    for s in staging:
        check_type(types.get(s), f"stagingTypes.{s}")
    columns = plan.get("columns")
    if not isinstance(columns, list) or not columns:
        raise bad("columns", "must be a non-empty list", "re-run validate")
    seen: set[str] = set()
    for i, c in enumerate(columns):
        f = f"columns[{i}]"
        if not isinstance(c, dict):
            raise bad(f, "is not an object", "re-run validate")
        if c.get("source") not in staging:
            raise bad(f"{f}.source", f"{c.get('source')!r} is not a staging column", "re-run validate")
        if not isinstance(c.get("name"), str) or not IDENTIFIER.match(c["name"]):
            raise bad(f"{f}.name", f"{c.get('name')!r} is not an identifier", "fix the contract")
        if c["name"] in seen:
            raise bad(f"{f}.name", f"{c['name']!r} is written twice", "fix the contract")
        if c["name"] != c["source"]:
            raise bad(f, f"source {c['source']!r} differs from name {c['name']!r}", "re-run validate")
        seen.add(c["name"])
        check_type(c, f)
    if "dedupe" not in plan:
        raise bad("dedupe", "missing (a plan without a key has dedupe null)", "re-run validate")
    dedupe = plan["dedupe"]
    if dedupe is not None:
        check_dedupe(dedupe, columns, staging, bad)
    if "partition" not in plan:
        raise bad("partition", "missing (a plan without a partition has partition null)", "re-run validate")
    if plan["partition"] is not None:
        check_partition(plan["partition"], columns, bad)
    output = dict(plan.get("output") or {})
    max_rows = output.pop("maxRowsPerFile", DEFAULT_MAX_ROWS_PER_FILE)
    if output != {"format": "parquet", "compression": "snappy", "timestampUnit": "micros"}:
        raise bad("output", f"{output!r} is not parquet/snappy/micros", "re-run validate")
    if not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 1:
        raise bad("output.maxRowsPerFile", f"{max_rows!r} is not a whole number >= 1", "re-run validate")
    plan["output"] = {**output, "maxRowsPerFile": max_rows}
    if plan.get("stagingCsv") is not None:
        check_staging_csv(plan["stagingCsv"], staging, bad)
    return plan


def check_staging_csv(layout: Any, staging: list[str], bad) -> None:
    """plan.json `stagingCsv` (core/staging.ts StagingCsvLayout): how CSV staging parts are laid out."""
    if not isinstance(layout, dict):
        raise bad("stagingCsv", "is not an object", "re-run validate")
    for key in ("delimiter", "quote"):
        v = layout.get(key)
        if not isinstance(v, str) or len(v) != 1 or v in "\r\n":
            raise bad(f"stagingCsv.{key}", f"{v!r} is not one character", "re-run validate")
    if layout["delimiter"] == layout["quote"]:
        raise bad("stagingCsv", "delimiter and quote are the same character", "re-run validate")
    for key in ("fields", "maxLineBytes", "rows"):
        v = layout.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or v < (1 if key == "fields" else 0):
            raise bad(f"stagingCsv.{key}", f"{v!r} is not a whole number", "re-run validate")
    fields = layout.get("columnFields")
    if not isinstance(fields, dict) or set(fields) != set(staging):
        raise bad(
            "stagingCsv.columnFields", "must give a field for every staging column", "re-run validate"
        )
    for name, f in fields.items():
        if not isinstance(f, int) or isinstance(f, bool) or not 0 <= f < layout["fields"]:
            raise bad(
                f"stagingCsv.columnFields.{name}", f"{f!r} is not a field of the line", "re-run validate"
            )


def check_dedupe(dedupe: Any, columns: list[dict[str, Any]], staging: list[str], bad) -> None:
    """plan.dedupe when not null: a non-empty key of output columns, an order ending in _line."""
    if not isinstance(dedupe, dict) or not isinstance(dedupe.get("key"), list) or not dedupe["key"]:
        raise bad("dedupe.key", "must be a non-empty list (or dedupe null: no key)", "re-run validate")
    for k in dedupe["key"]:
        if not any(c["source"] == k for c in columns):
            raise bad("dedupe.key", f"{k!r} is not an output column", "re-run validate")
    order = dedupe.get("orderBy")
    if not isinstance(order, list) or not order or not isinstance(order[-1], dict) or order[-1].get("column") != LINE_COLUMN:
        raise bad(
            "dedupe.orderBy",
            f"must end with {LINE_COLUMN} so ties are broken deterministically",
            "re-run validate",
        )
    for i, o in enumerate(order):
        if not isinstance(o, dict) or o.get("column") not in (*staging, LINE_COLUMN):
            raise bad(f"dedupe.orderBy[{i}]", f"{o!r} names no staging column", "re-run validate")
        if o.get("direction") not in ("asc", "desc"):
            raise bad(f"dedupe.orderBy[{i}].direction", f"{o.get('direction')!r}", "use asc or desc")


def check_partition(part: Any, columns: list[dict[str, Any]], bad) -> None:
    """plan.partition when not null: the rules of core/plan.ts checkPartition (the partition
    table of contract v2): the kind is the column's type, a granularity for dates and timestamps
    only, the column kept inside the files exactly when the key is derived from it."""
    if not isinstance(part, dict):
        raise bad("partition", f"{part!r} is not an object or null", "re-run validate")
    column = next((c for c in columns if c["source"] == part.get("source")), None)
    if column is None:
        raise bad("partition.source", f"{part.get('source')!r} is not an output column", "re-run validate")
    name = part.get("name")
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise bad("partition.name", f"{name!r} is not an identifier", "fix the contract")
    kind, granularity = part.get("kind"), part.get("granularity")
    if kind != column["type"]:
        raise bad("partition.kind", f"{kind!r}, but column {column['source']!r} is {column['type']}", "re-run validate")
    if kind == "string":
        if granularity is not None:
            raise bad("partition.granularity", "must be null for a string partition", "re-run validate")
    elif kind in ("date", "timestamp"):
        if granularity not in GRANULARITY_FORMAT:
            raise bad("partition.granularity", f"{granularity!r} is not day, month or year", "re-run validate")
    else:
        raise bad("partition.kind", f"{kind!r} is not date, timestamp or string", "re-run validate")
    is_folder = kind == "string" or (kind == "date" and granularity == "day")
    if part.get("keepColumn") is not (not is_folder):
        raise bad("partition.keepColumn", f"must be {str(not is_folder).lower()}", "re-run validate")
    if (part["keepColumn"] or name != part["source"]) and any(c["name"] == name for c in columns):
        raise bad("partition.name", f"{name!r} is also an output column", "fix the contract")


def file_columns(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The output columns written inside the files, in order (core/plan.ts fileColumns): all but a
    partition column that is only the folder (a date by day, a string)."""
    part = plan["partition"]
    return [
        c
        for c in plan["columns"]
        if part is None or part["keepColumn"] or c["source"] != part["source"]
    ]


def split_order(plan: dict[str, Any]) -> list[str]:
    """The order rows fill the parts of a partition split by maxRowsPerFile (core/plan.ts
    splitOrder): the dedupe key's columns inside the files, else every file column; ascending,
    nulls first (Spark's default sort order)."""
    in_files = file_columns(plan)
    dedupe = plan["dedupe"]
    if dedupe is None:
        return [c["name"] for c in in_files]
    keys = [c["name"] for c in in_files if c["source"] in dedupe["key"]]
    return keys or [c["name"] for c in in_files]


def partition_key_type(plan: dict[str, Any]) -> str | None:
    """The partition key's catalog type (core/plan.ts partitionKeyType): date for day partitions,
    string otherwise, None without a partition."""
    part = plan["partition"]
    if part is None:
        return None
    return "date" if part["granularity"] == "day" else "string"


# --------------------------------------------------------------------------------------------
# Lake layout (mirrors core/layout.ts `lake`)
# --------------------------------------------------------------------------------------------


def curated_table_prefix(dataset: str) -> str:
    return f"curated/{dataset}/"


def curated_file_name(source_id: str, part: int = 0) -> str:
    """Part 0 `<id>.snappy.parquet`, part n >= 1 `<id>.part-0000n.snappy.parquet` (core/layout.ts)."""
    return f"{source_id}.snappy.parquet" if part == 0 else f"{source_id}.part-{part:05d}.snappy.parquet"


def curated_object(
    dataset: str, partition_key: str | None, value: str | None, source_id: str, part: int = 0
) -> str:
    """One object per (source file, partition value), replaced as a unit on re-run; with no
    partition (`partition_key` None) one object per source file, directly under the table. A
    partition with more rows than the plan's maxRowsPerFile has parts 1, 2, ... beside part 0."""
    if partition_key is None:
        return f"curated/{dataset}/{curated_file_name(source_id, part)}"
    return f"curated/{dataset}/{partition_key}={value}/{curated_file_name(source_id, part)}"


def manifest_key(dataset: str, source_id: str) -> str:
    return f"manifests/{dataset}/{source_id}.json"


def is_owned_object(key: str, dataset: str, source_id: str) -> bool:
    """Whether a curated key is one of this source file's objects, in any partition folder (also
    one named after a partition key renamed since) or in none: `curated/<ds>/<key>=<value>/<id>.snappy.parquet`
    or `curated/<ds>/<id>.snappy.parquet` (core/layout.ts isCuratedObjectOf)."""
    return (
        re.fullmatch(
            re.escape(f"curated/{dataset}/")
            + r"(?:[a-z_][a-z0-9_]{0,127}=[A-Za-z0-9][A-Za-z0-9_.-]{0,99}/)?"
            + re.escape(source_id)
            + r"(?:\.part-[0-9]{5,})?\.snappy\.parquet",
            key,
        )
        is not None
    )


# --------------------------------------------------------------------------------------------
# Object stores: a local folder laid out like a bucket, or an S3 prefix
# --------------------------------------------------------------------------------------------


class Store(Protocol):
    """Keys are relative to the store's root (a folder, or s3://bucket/prefix/)."""

    def spark_path(self, key: str) -> str: ...
    def exists(self, key: str) -> bool: ...
    def read_text(self, key: str) -> str: ...
    def write_text(self, key: str, text: str) -> None: ...
    def list(self, prefix: str) -> list[str]: ...
    def move(self, src: str, dst: str) -> None: ...
    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> None: ...
    def create_exclusive(self, key: str, text: str) -> bool: ...
    def age_seconds(self, key: str) -> float | None: ...


class LocalStore:
    """A folder used as a bucket (`<root>/<key>`), as the local runtime lays out its lake."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)

    def _path(self, key: str) -> str:
        path = os.path.normpath(os.path.join(self.root, key))
        # Keys are built from checked ids, but a path must never escape the lake whatever happens.
        if path != self.root and not path.startswith(self.root + os.sep):
            raise TransformInputError(f"key {key!r} leaves the lake folder {self.root}")
        return path

    def spark_path(self, key: str) -> str:
        return self._path(key)

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def read_text(self, key: str) -> str:
        with open(self._path(key), encoding="utf-8") as f:
            return f.read()

    def write_text(self, key: str, text: str) -> None:
        # Write beside, then rename: a reader sees the old file or the new one, never half of one.
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if not os.path.isdir(base):
            return []
        keys = []
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                full = os.path.join(dirpath, name)
                keys.append(os.path.relpath(full, self.root).replace(os.sep, "/"))
        return sorted(keys)

    def move(self, src: str, dst: str) -> None:
        target = self._path(dst)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        # Same filesystem (the temp prefix lives in the lake folder), so this is an atomic rename
        # that replaces the previous object in one step.
        os.replace(self._path(src), target)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            os.remove(path)
        except FileNotFoundError:
            return
        # An empty folder is no object (S3 shows none); drop it as transform/publish.ts does.
        try:
            os.rmdir(os.path.dirname(path))
        except OSError:
            pass

    def delete_prefix(self, prefix: str) -> None:
        import shutil

        path = self._path(prefix)
        shutil.rmtree(path, ignore_errors=True)
        # Folders are not objects: drop the empty parents too, as S3 would show them (never the
        # lake folder itself).
        parent = os.path.dirname(path.rstrip(os.sep))
        while parent.startswith(self.root + os.sep):
            try:
                os.rmdir(parent)
            except OSError:
                break
            parent = os.path.dirname(parent)


    def create_exclusive(self, key: str, text: str) -> bool:
        """Creates the file only if it does not exist (O_EXCL): True when this call created it."""
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return True

    def age_seconds(self, key: str) -> float | None:
        try:
            return time.time() - os.stat(self._path(key)).st_mtime
        except FileNotFoundError:
            return None


class S3Store:
    """An S3 bucket (and optional prefix). boto3 is on Glue; locally it comes with moto."""

    def __init__(self, bucket: str, prefix: str = "", client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.s3 = client
        self.bucket = bucket
        self.prefix = prefix

    def spark_path(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.s3.head_object(Bucket=self.bucket, Key=self.prefix + key)
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def read_text(self, key: str) -> str:
        body = self.s3.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"]
        return body.read().decode("utf-8")

    def write_text(self, key: str, text: str) -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=self.prefix + key,
            Body=text.encode("utf-8"),
            ContentType="application/json",
        )

    def list(self, prefix: str) -> list[str]:
        keys = []
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        for page in pages:
            keys.extend(o["Key"][len(self.prefix) :] for o in page.get("Contents", []))
        return sorted(keys)

    def move(self, src: str, dst: str) -> None:
        # S3 has no rename: copy (one atomic PUT as seen by readers; the managed copy switches to
        # multipart above 8 MB and still appears at once when complete), then delete the source.
        self.s3.copy(
            {"Bucket": self.bucket, "Key": self.prefix + src}, self.bucket, self.prefix + dst
        )
        self.s3.delete_object(Bucket=self.bucket, Key=self.prefix + src)

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def delete_prefix(self, prefix: str) -> None:
        keys = self.list(prefix)
        for i in range(0, len(keys), 1000):
            self.s3.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": self.prefix + k} for k in keys[i : i + 1000]]},
            )


    def create_exclusive(self, key: str, text: str) -> bool:
        """A conditional PUT (If-None-Match: *): S3 creates the object only if the key holds none,
        atomically, so two jobs can never both create it. botocore knows the `IfNoneMatch`
        parameter from 1.35.x (S3 conditional writes, August 2024); with an older one (the boto3
        a Glue runtime ships may predate it) the same header is added to the request directly,
        which S3 honours whatever the SDK version."""
        from botocore.exceptions import ClientError

        params = {"Bucket": self.bucket, "Key": self.prefix + key, "Body": text.encode("utf-8")}
        try:
            if put_object_knows_if_none_match(self.s3):
                self.s3.put_object(**params, IfNoneMatch="*")
            else:
                put_object_with_headers(self.s3, params, {"If-None-Match": "*"})
            return True
        except ClientError as e:
            # 412: the key exists; 409: another conditional write to it is in progress.
            if e.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise

    def age_seconds(self, key: str) -> float | None:
        from botocore.exceptions import ClientError

        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return (dt.datetime.now(dt.timezone.utc) - head["LastModified"]).total_seconds()


def open_store(uri: str, s3_client: Any = None) -> Store:
    """`s3://bucket/prefix/` -> S3Store; a local path or file:// URI -> LocalStore."""
    parsed = urlparse(uri)
    if parsed.scheme in ("s3", "s3a"):
        prefix = parsed.path.lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return S3Store(parsed.netloc, prefix, s3_client)
    if parsed.scheme == "file":
        return LocalStore(parsed.path)
    if parsed.scheme == "":
        return LocalStore(uri)
    raise TransformInputError(f"{uri}: unsupported location; use s3://bucket/prefix/ or a folder")


# --------------------------------------------------------------------------------------------
# Pure DataFrame functions
# --------------------------------------------------------------------------------------------


def staging_schema(plan: dict[str, Any]):
    """Explicit staging schema: every contract column a string, `_line` a long. Never inferred,
    so a value can never change type because of what a sample happened to contain."""
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    fields = [StructField(name, StringType(), True) for name in plan["stagingColumns"]]
    fields.append(StructField(LINE_COLUMN, LongType(), False))
    return StructType(fields)


def is_csv_staging(paths: Sequence[str]) -> bool:
    """Whether staging is CSV parts (with at most one JSON Lines part beside them; open_staging has
    refused any other mix)."""
    return any(p.endswith(".csv") for p in paths)


def is_typed_staging(paths: Sequence[str]) -> bool:
    """Whether read_staging gives typed values (Parquet or CSV staging) rather than canonical text."""
    return is_parquet_staging(paths) or is_csv_staging(paths)


def is_parquet_staging(paths: Sequence[str]) -> bool:
    """Whether staging parts are Parquet (core/staging.ts isParquetStagingPart). open_staging has
    already refused a prefix holding both kinds."""
    return bool(paths) and all(p.endswith(".parquet") for p in paths)


def parquet_staging_schema(plan: dict[str, Any]):
    """The exact schema of a Parquet staging part (core/staging.ts stagingParquetType): the
    staging columns in order, typed by the plan (string, bigint, decimal(p,s), double, boolean,
    date, timestamp = an instant), then `_line` bigint."""
    from pyspark.sql import types as T

    def spark_type(t: dict[str, Any]):
        if t["type"] == "decimal":
            return T.DecimalType(t["precision"], t["scale"])
        return {
            "string": T.StringType(),
            "integer": T.LongType(),
            "double": T.DoubleType(),
            "boolean": T.BooleanType(),
            "date": T.DateType(),
            "timestamp": T.TimestampType(),
        }[t["type"]]

    fields = [
        T.StructField(name, spark_type(plan["stagingTypes"][name]), True)
        for name in plan["stagingColumns"]
    ]
    fields.append(T.StructField(LINE_COLUMN, T.LongType(), True))
    return T.StructType(fields)


def check_parquet_staging(spark, paths: Sequence[str], plan: dict[str, Any]) -> None:
    """Refuses a Parquet staging part whose own schema (read from its footer) is not exactly
    parquet_staging_schema: names, order and types. A timestamp without UTC adjustment reads as
    timestamp_ntz, an int32 as int, a float as float: each is refused naming the part and the
    column, never cast (as the DuckDB engine refuses them)."""
    expected = parquet_staging_schema(plan)
    fix = (
        "Fix: staging and plan come from different contract versions, or another writer made "
        "this part — re-run the validate step for this file (the original is untouched)"
    )
    for p in paths:
        try:
            actual = spark.read.parquet(p).schema
        except Exception as e:  # noqa: BLE001 — reported with the part's name
            raise TransformInputError(
                f"{p}: not a readable Parquet staging part ({describe_error(e)['message'][:300]}). {fix}"
            ) from e
        names = [f.name for f in actual.fields]
        want = [f.name for f in expected.fields]
        missing = [n for n in want if n not in names]
        extra = [n for n in names if n not in want]
        if missing or extra:
            raise TransformInputError(
                f"{p}: staging columns do not match the {plan['dataset']} plan"
                + (f"; missing column {', '.join(json.dumps(n) for n in missing)}" if missing else "")
                + (f"; unexpected column {', '.join(json.dumps(n) for n in extra)}" if extra else "")
                + f". {fix}"
            )
        for field in expected.fields:
            got = actual[field.name].dataType
            if got != field.dataType:
                raise TransformInputError(
                    f"{p}: staging column {field.name} is {got.simpleString()} in the Parquet file, "
                    f"the {plan['dataset']} plan needs {field.dataType.simpleString()} "
                    f"(a mismatched type is never cast). {fix}"
                )
        if names != want:
            raise TransformInputError(
                f"{p}: staging columns are out of order ({', '.join(names)}); the {plan['dataset']} "
                f"plan has {', '.join(want)}. {fix}"
            )


def csv_value(raw, t: dict[str, Any], source: str):
    """The staged value of a CSV staging field read as text (NULL = unquoted empty, CSV_QUOTED_EMPTY
    = `""`): core/staging.ts csvStagingValueSql in Spark — the same casts; every value passed the
    validate step's byte checks, which vouch that the cast is the value the JavaScript checker
    stages. Empty is NULL in a column not text. A value that does not cast (staging that is not
    what the step wrote) fails the job naming the staging line and column, never a NULL."""
    from pyspark.sql import functions as F

    quoted_empty = raw == F.lit(CSV_QUOTED_EMPTY)
    if t["type"] == "string":
        return F.when(quoted_empty, F.lit("")).otherwise(raw)
    if t["type"] == "boolean":
        # As csvStagingValueSql: 1 or true (any case) is true, anything else false; never NULL.
        value = (raw == F.lit("1")) | (F.lower(raw) == F.lit("true"))
    else:
        value = F.expr(f"try_cast(`{source}` AS {sql_type(t)})")
        if t["type"] == "double":
            value = value + F.lit(0.0)  # -0 becomes 0, as JavaScript stages it
    type_name = sql_type(t) if t["type"] == "decimal" else t["type"]
    return (
        F.when(raw.isNull() | quoted_empty, F.lit(None).cast(sql_type(t)))
        .when(value.isNull(), staging_error(source, raw, f"is not a valid {type_name} in CSV staging"))
        .otherwise(value)
    )


def read_csv_staging(spark, paths: Sequence[str], plan: dict[str, Any]):
    """CSV staging as typed rows (the staging columns, then `_line`): the CSV parts read as text in
    FAILFAST mode with the layout of plan.json `stagingCsv` (the quote doubled inside quotes, line
    breaks inside quotes kept, whole files: multiLine), each column cast by csv_value; plus the one
    JSON Lines part of rows only JavaScript vouched for, parsed from canonical text (typed_column)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    layout = plan["stagingCsv"]
    csv_paths = [p for p in paths if p.endswith(".csv")]
    jsonl_paths = [p for p in paths if p.endswith(".jsonl")]
    schema = StructType(
        [StructField(LINE_COLUMN, LongType(), True)]
        + [StructField(f"__etl_f{i}__", StringType(), True) for i in range(layout["fields"])]
    )
    text = (
        spark.read.schema(schema)
        .option("header", "false")
        .option("sep", layout["delimiter"])
        .option("quote", layout["quote"])
        .option("escape", layout["quote"])
        .option("multiLine", "true")
        .option("mode", "FAILFAST")
        .option("encoding", "UTF-8")
        .option("emptyValue", CSV_QUOTED_EMPTY)
        .option("ignoreLeadingWhiteSpace", "false")
        .option("ignoreTrailingWhiteSpace", "false")
        .option("maxCharsPerColumn", "-1")
        .option("unescapedQuoteHandling", "RAISE_ERROR")
        .csv(csv_paths)
    )
    names = plan["stagingColumns"]
    types = plan["stagingTypes"]
    fields = text.select(
        *[F.col(f"__etl_f{layout['columnFields'][s]}__").alias(s) for s in names], F.col(LINE_COLUMN)
    )
    rows = fields.select(
        *[csv_value(F.col(f"`{s}`"), types[s], s).alias(s) for s in names], F.col(LINE_COLUMN)
    )
    if jsonl_paths:
        js = read_staging(spark, jsonl_paths, plan)
        rows = rows.unionByName(
            js.select(*[typed_column(s, types[s]).alias(s) for s in names], F.col(LINE_COLUMN))
        )
    return rows


def read_staging(spark, paths: Sequence[str], plan: dict[str, Any], checked: bool = False):
    """Reads staging. JSON Lines: with the explicit all-string schema in FAILFAST mode, so a
    malformed line stops the job instead of turning into a row of nulls (PERMISSIVE's silent
    default). Parquet: each part's schema checked (check_parquet_staging, skipped when `checked`
    says it was already), then read with exactly that schema. CSV: typed by read_csv_staging."""
    if is_csv_staging(paths):
        return read_csv_staging(spark, paths, plan)
    if is_parquet_staging(paths):
        if not checked:
            check_parquet_staging(spark, paths, plan)
        return spark.read.schema(parquet_staging_schema(plan)).parquet(*paths)
    schema = staging_schema(plan)
    if not paths:
        return spark.createDataFrame([], schema)
    return (
        spark.read.schema(schema)
        .option("mode", "FAILFAST")
        .option("encoding", "UTF-8")
        .option("multiLine", "false")
        .json(list(paths))
    )


# Canonical staging text (core/staging.ts) as regular expressions matching a WHOLE value. A copy of
# core/plan.ts `canonicalPattern`, kept equal by test/glue/patterns.test.ts: the DuckDB engine
# uses that one, this job runs on Glue without Node.
_YEAR = "(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
_DAY = f"{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"


def canonical_pattern(t: dict[str, Any]) -> str | None:
    """The canonical text of a type (None for strings, which are stored as read)."""
    kind = t["type"]
    if kind == "string":
        return None
    if kind == "integer":
        return "-?(?:0|[1-9][0-9]{0,18})"
    if kind == "decimal":
        scale = t.get("scale") or 0
        whole = (t.get("precision") or 0) - scale
        int_part = "0" if whole == 0 else f"(?:0|[1-9][0-9]{{0,{whole - 1}}})"
        return f"-?{int_part}" + (f"\\.[0-9]{{{scale}}}" if scale > 0 else "")
    if kind == "double":
        return "-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:e[+-][0-9]+)?"
    if kind == "boolean":
        return "true|false"
    if kind == "date":
        return _DAY
    if kind == "timestamp":
        return f"{_DAY}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.[0-9]{{6}}Z"
    raise TransformInputError(f"unknown column type {kind!r}")


def sql_type(t: dict[str, Any]) -> str:
    """Spark SQL type of a plan type. Timestamps are TimestampType (an instant, written as
    TIMESTAMP(isAdjustedToUTC=true, MICROS)); integers are 64-bit."""
    if t["type"] == "decimal":
        return f"decimal({t['precision']},{t['scale']})"
    return {
        "string": "string",
        "integer": "bigint",
        "double": "double",
        "boolean": "boolean",
        "date": "date",
        "timestamp": "timestamp",
    }[t["type"]]


def staging_error(source: str, shown, what: str):
    """Fails the job for one staging value, naming it as the DuckDB engine does: `staging line 7,
    column amount: "1.234" <what>. Fix: …` (`shown`: the value as text, its first 60 characters)."""
    from pyspark.sql import functions as F

    return F.raise_error(
        F.concat(
            F.lit("staging line "),
            F.coalesce(F.col(LINE_COLUMN).cast("string"), F.lit("?")),
            F.lit(f", column {source}: "),
            F.regexp_extract(F.to_json(F.array(F.substring(shown, 1, 60))), r"^\[(.*)\]$", 1),
            F.lit(
                f" {what}. Fix: staging must be exactly what the validate step writes "
                "(core/staging.ts); re-run the validate step for this file — the original is untouched"
            ),
        )
    )


def typed_column(source: str, t: dict[str, Any]):
    """One staging string as its typed value. A value that is not canonical text, or does not
    exist (2024-02-30, past int64), fails the job with a message naming the source line and the
    column: a cast alone would forgive (round, truncate or null it) and the two engines forgive
    differently, so neither may."""
    from pyspark.sql import functions as F

    raw = F.col(f"`{source}`")
    pattern = canonical_pattern(t)
    if pattern is None:
        return raw
    value = F.expr(f"try_cast(`{source}` AS {sql_type(t)})")
    # rlike finds a match anywhere: anchor it, with \z (`$` would also match before a final \n).
    not_canonical = raw.isNotNull() & (~raw.rlike(f"^(?:{pattern})\\z") | value.isNull())
    # Same words as the DuckDB engine: `staging line 7, column amount: "1.234" is not canonical
    # decimal(12,2) text`.
    type_name = sql_type(t) if t["type"] == "decimal" else t["type"]
    return F.when(
        not_canonical, staging_error(source, raw, f"is not canonical {type_name} text")
    ).otherwise(value)


def checked_column(source: str, t: dict[str, Any], must_have_value: bool):
    """One typed Parquet staging column, checked for what canonical text rules out by
    construction (as the DuckDB engine checks it): NaN and ±Infinity doubles, dates and instants
    outside years 0001-9999 (UTC), and, for key and partition columns, null. The job fails naming
    the staging line and column; every other value is used as written."""
    from pyspark.sql import functions as F

    value = F.col(f"`{source}`")

    def fail(what: str):
        return staging_error(source, value.cast("string"), what)

    kind = t["type"]
    bad = None
    if kind == "double":
        bad = F.isnan(value) | value.isin(float("inf"), float("-inf"))
        what = f"is not a valid {kind} (NaN and Infinity are not values)"
    elif kind == "date":
        bad = ~F.year(value).between(1, 9999)
        what = f"is not a valid {kind} (years 0001-9999 only)"
    elif kind == "timestamp":
        # Compared as microseconds since the epoch: no session zone, no calendar rebase involved.
        micros = F.unix_micros(value)
        bad = ~micros.between(F.lit(-62135596800000000), F.lit(253402300799999999))
        what = f"is not a valid {kind} (years 0001-9999 only)"
    column = value
    if bad is not None:
        column = F.when(bad, fail(what)).otherwise(value)
    if must_have_value:
        column = F.when(value.isNull(), fail("is empty, but it is a key or partition column")).otherwise(column)
    return column


def _internal(source: str) -> str:
    # Contract identifiers match ^[a-z_][a-z0-9_]*$ and may start with `__`; the trailing `__` and
    # the `etl` infix keep internal names clear of any sane contract's names.
    return f"__etl_{source}__"


def partition_value(plan: dict[str, Any], ref, line):
    """The folder value of a typed row, as text (core/plan.ts PlanPartition): a date's own day, the
    day, month or year of a date or of a timestamp's UTC instant (the session zone is UTC, see
    configure_session), or a string's value once it is known to be safe as a folder name (else the
    job fails naming the line, as the DuckDB engine does); NO_PARTITION without a partition."""
    from pyspark.sql import functions as F

    part = plan["partition"]
    if part is None:
        return F.lit(NO_PARTITION)
    value = ref(part["source"])
    if part["kind"] != "string":
        return F.date_format(value, GRANULARITY_FORMAT[part["granularity"]])
    message = F.concat(
        F.lit("staging line "),
        F.coalesce(line.cast("string"), F.lit("?")),
        F.lit(f", column {part['source']}: "),
        F.regexp_extract(F.to_json(F.array(F.substring(value, 1, 60))), r"^\[(.*)\]$", 1),
        F.lit(
            " cannot be a partition value (BAD_PARTITION_VALUE: letters, digits and _ . - only, "
            "starting with a letter or digit, at most 100)"
        ),
    )
    safe = value.rlike("^(?:" + PARTITION_VALUE.pattern[1:-1] + ")\\z")
    return F.when(safe, value).otherwise(F.raise_error(message))


def apply_plan(raw, plan: dict[str, Any], typed_staging: bool = False):
    """Staging rows -> typed, deduplicated rows: the columns written inside the files
    (file_columns) in order, plus PARTITION_COLUMN, the folder value as text. `typed_staging`:
    `raw` is Parquet or CSV staging read by read_staging (typed), whose values are checked by
    checked_column instead of parsed from canonical text.

    With plan.dedupe null every row is kept. Otherwise dedupe keeps, per plan.dedupe.key, the
    first row after sorting by plan.dedupe.orderBy with nulls last in either direction. Order
    columns compare as their typed values (9.00 sorts below 10.00, timestamps as instants), dropped
    ones too (plan.stagingTypes). The last order column is always `_line`, so exact ties are broken
    by position in the source file."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    dedupe = plan["dedupe"]
    # Only columns the output or the dedupe order use are checked and cast (as the DuckDB engine
    # does): a dropped, unused column is never read, so it cannot fail the job.
    needed = {c["source"] for c in plan["columns"]} | {
        o["column"] for o in (dedupe["orderBy"] if dedupe else []) if o["column"] != LINE_COLUMN
    }
    must_have_value = set(dedupe["key"] if dedupe else []) | (
        {plan["partition"]["source"]} if plan["partition"] else set()
    )

    def value_of(s: str):
        t = plan["stagingTypes"][s]
        return checked_column(s, t, s in must_have_value) if typed_staging else typed_column(s, t)

    typed = raw.select(
        *[value_of(s).alias(_internal(s)) for s in plan["stagingColumns"] if s in needed],
        F.col(LINE_COLUMN).alias("__etl_line__"),
    )

    def ref(source: str):
        return F.col("__etl_line__" if source == LINE_COLUMN else _internal(source))

    kept = typed
    if dedupe is not None:
        order = [
            ref(o["column"]).asc_nulls_last()
            if o["direction"] == "asc"
            else ref(o["column"]).desc_nulls_last()
            for o in dedupe["orderBy"]
        ]
        window = Window.partitionBy(*[ref(k) for k in dedupe["key"]]).orderBy(*order)
        kept = typed.withColumn("__etl_rank__", F.row_number().over(window)).where(
            F.col("__etl_rank__") == 1
        )
    out = [ref(c["source"]).alias(c["name"]) for c in file_columns(plan)]
    out.append(partition_value(plan, ref, ref(LINE_COLUMN)).alias(PARTITION_COLUMN))
    return kept.select(*out)


def exact_duplicates(raw) -> int:
    """Staging rows equal to an earlier row in every column but `_line` (NULL equals NULL): rows
    minus distinct rows. Staging text is canonical, so equal text is equal value. Typed (Parquet)
    staging compares doubles by their text, so that -0 and 0 stay two values as their canonical
    texts are (Spark's distinct normalises -0.0 to 0.0), as the DuckDB engine does."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType

    rows = raw.drop(LINE_COLUMN)
    rows = rows.select(
        *[
            F.col(f"`{f.name}`").cast("string").alias(f.name)
            if isinstance(f.dataType, DoubleType)
            else F.col(f"`{f.name}`")
            for f in rows.schema.fields
        ]
    )
    return rows.count() - rows.distinct().count()


# Read split size for Parquet staging. Parquet staging is about 9x smaller than the JSON Lines of
# the same rows (26 vs 237 MiB for the bench's 100 MB file), so Spark's 128 MiB default would read
# it with about a ninth of the tasks (one task for a 100 MB file, where JSON Lines gets two): 16 MiB
# splits give about as many read tasks as the JSON Lines would. A split cannot divide a row group
# (DuckDB writes 122,880 rows per group, about 4 MiB of registrations).
PARQUET_STAGING_SPLIT_BYTES = 16 * 1024 * 1024
SPARK_DEFAULT_SPLIT_BYTES = 128 * 1024 * 1024


def configure_session(spark, parquet_staging: bool = False) -> None:
    """Session settings the output contract depends on (set at runtime, so they hold on Glue too),
    and the read split size for this job's staging format (set per job: a local batch reuses one
    session for files of both formats)."""
    conf = {
        "spark.sql.files.maxPartitionBytes": str(
            PARQUET_STAGING_SPLIT_BYTES if parquet_staging else SPARK_DEFAULT_SPLIT_BYTES
        ),
        # Timestamps are instants; parse and write them in UTC whatever the machine's zone.
        "spark.sql.session.timeZone": "UTC",
        # Belt and braces: typed_column already refuses what does not parse; ANSI makes any other
        # arithmetic or cast surprise fail loudly instead of producing null.
        "spark.sql.ansi.enabled": "true",
        "spark.sql.parquet.compression.codec": "snappy",
        # INT96 is Spark's legacy default; Athena and DuckDB read TIMESTAMP_MICROS as an instant.
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        # Standard Parquet decimals (INT32/INT64/FIXED_LEN_BYTE_ARRAY by precision), as DuckDB.
        "spark.sql.parquet.writeLegacyFormat": "false",
        # Dates/timestamps before 1582 are written as the proleptic Gregorian values they are;
        # the default (EXCEPTION) would fail on year 0001, which the staging format allows.
        "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
        "spark.sql.parquet.int96RebaseModeInWrite": "CORRECTED",
        "spark.sql.parquet.datetimeRebaseModeInRead": "CORRECTED",
        "spark.sql.parquet.int96RebaseModeInRead": "CORRECTED",
        # One task per partition value (write_partitioned); the plan's maxRowsPerFile is the
        # write's own maxRecordsPerFile option, which overrides this session default.
        "spark.sql.files.maxRecordsPerFile": "0",
        # Spark only ever writes to a fresh temp prefix; the curated prefix is changed object by
        # object below. Should anyone point Spark at it, dynamic mode keeps other files' rows.
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
    }
    for k, v in conf.items():
        spark.conf.set(k, v)


def write_partitioned(out, plan: dict[str, Any], temp_path: str) -> None:
    """Writes rows to `temp_path/__etl_partition__=<value>/part-*.snappy.parquet`, one file per
    value — or, past the plan's maxRowsPerFile, files of that many rows (`.c000`, `.c001`, ...):
    repartitioning by the value sends every row of a value to one task, which writes them in
    split_order and starts a new file every maxRowsPerFile rows, as the DuckDB engine splits. A
    table without a partition has one value (NO_PARTITION), so it gets one file too, and none at
    all for zero rows, as the DuckDB engine."""
    from pyspark.sql import functions as F

    order = [F.col(c).asc_nulls_first() for c in split_order(plan)]
    (
        out.repartition(F.col(PARTITION_COLUMN))
        # Sorted inside each value: deterministic files, tighter Parquet statistics, and the
        # rows of each part the same as the DuckDB engine's.
        .sortWithinPartitions(F.col(PARTITION_COLUMN), *order)
        .write.mode("errorifexists")
        .option("compression", "snappy")
        .option("maxRecordsPerFile", str(plan["output"]["maxRowsPerFile"]))
        .partitionBy(PARTITION_COLUMN)
        .parquet(temp_path)
    )


# --------------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobArgs:
    staging: str
    lake: str
    dataset: str
    source_id: str
    version_tag: str
    plan: str | None = None
    temp: str | None = None
    engine: str = "spark"
    source_order: str | None = None


def check_args(args: JobArgs) -> None:
    """Ids become keys and paths; only the safe forms core/layout.ts produces are accepted."""
    if not DATASET_NAME.match(args.dataset):
        raise TransformInputError(f"--dataset {args.dataset!r} is not a dataset name")
    if not SOURCE_ID.match(args.source_id):
        raise TransformInputError(f"--source_id {args.source_id!r} is not a sourceIdOf() id")
    if not VERSION_TAG.match(args.version_tag):
        raise TransformInputError(f"--version_tag {args.version_tag!r} is not a versionTagOf() tag")
    if args.temp is not None and (not TEMP_KEY.match(args.temp) or ".." in args.temp.split("/")):
        raise TransformInputError(
            f"--temp {args.temp!r}: give a key prefix inside the lake, outside curated/ "
            "(readers must never see a half-written object)"
        )
    if args.source_order is not None and not (
        args.source_order == UNORDERED_SOURCE or SOURCE_ORDER_KEY.match(args.source_order)
    ):
        raise TransformInputError(
            f"--source_order {args.source_order!r} is neither a sequencerOrderKey() key nor "
            f"{UNORDERED_SOURCE!r}; pass the claim step's sourceOrder"
        )
    if args.engine not in ("glue", "spark"):
        raise TransformInputError(f"--engine {args.engine!r}: use glue or spark")


def _dir_uri(uri: str) -> str:
    return uri if uri.endswith("/") else uri + "/"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def open_staging(args: JobArgs, s3_client: Any = None) -> tuple[Store, list[str], dict[str, Any]]:
    """Checks the staging prefix is complete and loads the plan, before any Spark work starts."""
    staging = open_store(_dir_uri(args.staging), s3_client)
    if not staging.exists(STAGING_SUCCESS):
        raise TransformInputError(
            f"{_dir_uri(args.staging)} has no {STAGING_SUCCESS}: the validate step did not finish "
            "writing this file's staging rows. Re-run (or redrive) the run from Validate; "
            "the transform never reads a half-written staging prefix."
        )
    names = [k for k in staging.list("") if "/" not in k]
    parts = sorted(k for k in names if STAGING_PART.match(k))
    csv_parts = [k for k in parts if k.endswith(".csv")]
    parquet = [k for k in parts if k.endswith(".parquet")]
    jsonl = [k for k in parts if k.endswith(".jsonl")]
    if csv_parts and (parquet or len(jsonl) > 1):
        other = parquet[0] if parquet else jsonl[1]
        raise TransformInputError(
            f"{_dir_uri(args.staging)} holds CSV parts ({csv_parts[0]}) and {other}; beside CSV parts a "
            "staging prefix holds one JSON Lines part at most. Re-run the validate step for this file "
            "(it rewrites the prefix; the original is untouched), then the transform."
        )
    if parquet and len(parquet) != len(parts):
        raise TransformInputError(
            f"{_dir_uri(args.staging)} holds both JSON Lines parts ({jsonl[0]}) and Parquet parts "
            f"({parquet[0]}); a staging prefix holds one kind only. Re-run the validate step for "
            "this file (it rewrites the prefix; the original is untouched), then the transform."
        )
    if args.plan:
        plan_uri = args.plan
        plan_text = open_store(os.path.dirname(plan_uri) or ".", s3_client).read_text(
            os.path.basename(plan_uri)
        )
    else:
        plan_uri = _dir_uri(args.staging) + PLAN_FILE
        if not staging.exists(PLAN_FILE):
            raise TransformInputError(
                f"{plan_uri} is missing: the validate step writes the compiled plan there. "
                "Re-run Validate, or pass --plan."
            )
        plan_text = staging.read_text(PLAN_FILE)
    plan = load_plan(plan_text, plan_uri)
    if plan["dataset"] != args.dataset:
        raise TransformInputError(
            f"{plan_uri}: plan is for dataset {plan['dataset']!r}, the job was started for "
            f"{args.dataset!r}. Fix the job arguments."
        )
    if csv_parts and plan.get("stagingCsv") is None:
        raise TransformInputError(
            f"transform of {plan['dataset']}: staging holds CSV parts ({csv_parts[0]}) but its "
            f"plan.json has no stagingCsv layout. Fix: re-run the validate step for this file (it "
            "writes both), then the transform"
        )
    return staging, [staging.spark_path(p) for p in parts], plan


def written_partitions(lake: Store, temp_key: str) -> dict[str, list[str]]:
    """The Parquet files Spark wrote for each folder value under the temp prefix ({value: [keys]}),
    in the order the one task of that value wrote them (`part-<task>-<uuid>-c000...`, `-c001` once
    maxRowsPerFile rolled over): part 0 first. Refuses files of two tasks for one value: every
    row of a value goes to one task (write_partitioned), so that would break the split order."""
    found: dict[str, list[tuple[str, int, str]]] = {}
    # Spark names them part-<task>-<job uuid>-c<file counter>.snappy.parquet.
    pattern = re.compile(
        re.escape(PARTITION_COLUMN) + r"=([^/]+)/(part-[0-9]+)-[^/]*?(?:-c([0-9]+))?\.[^/]*parquet"
    )
    for key in lake.list(temp_key):
        m = pattern.fullmatch(key[len(temp_key) :])
        if m:
            if not PARTITION_VALUE.match(m.group(1)):
                raise RuntimeError(f"Spark wrote an unexpected partition folder {m.group(1)!r}")
            found.setdefault(m.group(1), []).append((m.group(2), int(m.group(3) or 0), key))
    written: dict[str, list[str]] = {}
    for value, files in found.items():
        if len({task for task, _, _ in files}) > 1:
            raise RuntimeError(f"Spark wrote partition {value!r} from two tasks")
        written[value] = [key for _, _, key in sorted(files, key=lambda f: f[1])]
    return written


def publish(
    lake: Store, written: dict[str, list[str]], dataset: str, partition_key: str | None, source_id: str
) -> list[str]:
    """Moves each value's files to their final names, part 0, 1, ... (partition_key None: the
    file(s) of a table without a partition, directly under the table), then removes this source file's objects it
    no longer has rows for. Other files' objects are never touched (a partition folder is never
    removed while it holds anything). Each move replaces one whole object, so a reader sees the
    old object or the new one; if the job dies midway, a re-run finishes the job. Returns the keys
    now owned, sorted."""
    if partition_key is None and set(written) - {NO_PARTITION}:
        raise RuntimeError(f"a table without a partition got partition folders {sorted(written)}")
    objects = []
    for value in sorted(written):
        for part, key in enumerate(written[value]):
            final = curated_object(dataset, partition_key, value, source_id, part)
            lake.move(key, final)
            objects.append(final)
    keep = set(objects)
    for key in lake.list(curated_table_prefix(dataset)):
        if key not in keep and is_owned_object(key, dataset, source_id):
            lake.delete(key)
    return sorted(objects)


def newer_published(in_place: Any, source_order: str | None) -> dict[str, str] | None:
    """Whether the manifest in place (parsed JSON or None) is for a NEWER version of the key than
    `source_order`: then this run must not publish. Equal order = a re-run of the same version,
    which replaces its own output. An unordered run, or a manifest without a well-formed
    sourceOrder (written before versions were ordered), is never held back. Returns the newer
    version's {versionTag, sourceOrder}. The same rule as transform/publish.ts newerPublished."""
    if source_order is None or source_order == UNORDERED_SOURCE or not isinstance(in_place, dict):
        return None
    theirs = in_place.get("sourceOrder")
    if not isinstance(theirs, str) or not SOURCE_ORDER_KEY.match(theirs) or theirs <= source_order:
        return None
    tag = in_place.get("versionTag")
    return {"versionTag": tag if isinstance(tag, str) else "(unknown)", "sourceOrder": theirs}


def manifest_in_place(lake: Store, dataset: str, source_id: str) -> Any:
    """This source's manifest as it is now (None when there is none or it is unreadable)."""
    key = manifest_key(dataset, source_id)
    try:
        return json.loads(lake.read_text(key)) if lake.exists(key) else None
    except ValueError:
        return None


def put_object_knows_if_none_match(s3: Any) -> bool:
    """Whether this botocore's S3 model has PutObject's `IfNoneMatch` parameter."""
    members = s3.meta.service_model.operation_model("PutObject").input_shape.members
    return "IfNoneMatch" in members


def put_object_with_headers(s3: Any, params: dict[str, Any], headers: dict[str, str]) -> None:
    """PutObject with extra HTTP headers, added just before signing (botocore's event hook)."""

    def add_headers(request: Any, **_: Any) -> None:
        for name, value in headers.items():
            request.headers[name] = value

    event = "before-sign.s3.PutObject"
    s3.meta.events.register(event, add_headers)
    try:
        s3.put_object(**params)
    finally:
        s3.meta.events.unregister(event, add_headers)


# A lock held this long is a killed publisher's leftover (a publish is renames or copies of one
# file's objects: seconds to a few minutes). A waiting job gives up a little after that.
STALE_LOCK_SECONDS = 15 * 60
LOCK_WAIT_SECONDS = STALE_LOCK_SECONDS + 60


@contextlib.contextmanager
def publish_lock(lake: Store, source_id: str, wait_seconds: float = LOCK_WAIT_SECONDS):
    """Holds `tmp/transform/<source_id>.publish.lock` (created exclusively: O_EXCL locally, a
    conditional PUT on S3) while two versions of one key publish, so that reading the manifest in
    place, publishing and writing the manifest are one step for each. As transform/publish.ts
    withPublishLock does for the DuckDB engine."""
    key = f"{LAKE_TMP_PREFIX}{source_id}.publish.lock"
    deadline = time.monotonic() + wait_seconds
    while not lake.create_exclusive(key, _now()):
        age = lake.age_seconds(key)
        if age is not None and age > STALE_LOCK_SECONDS:
            lake.delete(key)
        elif time.monotonic() > deadline:
            raise RuntimeError(
                f"publish of {source_id}: another run has held {key} for over {wait_seconds:.0f} s. "
                "Let it finish and re-run; if no run is active, delete the lock object"
            )
        else:
            time.sleep(0.2)
    try:
        yield
    finally:
        lake.delete(key)


def _ms_since(t: float) -> int:
    return round((time.monotonic() - t) * 1000)


def run_job(spark, args: JobArgs, s3_client: Any = None) -> dict[str, Any]:
    """Runs the transform for one source file and returns its manifest (also written to the lake)."""
    started = _now()
    check_args(args)
    _staging, part_paths, plan = open_staging(args, s3_client)
    configure_session(spark, is_parquet_staging(part_paths))
    lake = open_store(_dir_uri(args.lake), s3_client)
    part = plan["partition"]["name"] if plan["partition"] else None

    t0 = time.monotonic()
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    # Rows in and out are observed during the one write job instead of counted by extra jobs
    # (each a full read of the staging JSON).
    seen_in, seen_out = Observation("rows_in"), Observation("rows_out")
    typed_staging = is_typed_staging(part_paths)
    raw = read_staging(spark, part_paths, plan).observe(seen_in, F.count(F.lit(1)).alias("rows"))
    out = apply_plan(raw, plan, typed_staging).observe(seen_out, F.count(F.lit(1)).alias("rows"))

    # Temp prefix outside curated/ and inside the lake (same filesystem locally, so moves are
    # renames): if the job dies here, readers see nothing of this run.
    temp_key = args.temp or f"{LAKE_TMP_PREFIX}{args.source_id}-{uuid.uuid4().hex[:12]}/"
    temp_key = _dir_uri(temp_key)
    timings: dict[str, int] = {"plan": _ms_since(t0)}
    try:
        t1 = time.monotonic()
        write_partitioned(out, plan, lake.spark_path(temp_key))
        timings["transformWrite"] = _ms_since(t1)
        t2 = time.monotonic()
        written = written_partitions(lake, temp_key)
        # Observation.get waits for metrics that an action over zero rows may never report (it
        # would block forever). No file written means no row out, and then no row in either:
        # dedupe keeps one row of every key, so any row in gives at least one row out.
        rows_in, rows_out = (
            (int(seen_in.get["rows"]), int(seen_out.get["rows"])) if written else (0, 0)
        )
        if is_csv_staging(part_paths) and rows_in != plan["stagingCsv"]["rows"]:
            # As the DuckDB engine checks it: the rows read are the rows the validate step staged
            # (a line of a CSV part that read as two, or two as one, cannot go unnoticed).
            raise TransformInputError(
                f"transform of {plan['dataset']}: the CSV staging parts read as {rows_in} rows, the "
                f"validate step staged {plan['stagingCsv']['rows']}. Fix: re-run the validate step "
                "for this file (the original is untouched), then the transform; if it happens "
                "again, report it with the staging folder"
            )
        duplicates = (
            exact_duplicates(read_staging(spark, part_paths, plan, checked=True)) if written else 0
        )
        timings["exactDuplicates"] = _ms_since(t2)
        t2 = time.monotonic()
        manifest = {
            "dataset": args.dataset,
            "sourceId": args.source_id,
            "versionTag": args.version_tag,
            **(
                {"sourceOrder": args.source_order}
                if args.source_order not in (None, UNORDERED_SOURCE)
                else {}
            ),
            "engine": args.engine,
            "rowsIn": rows_in,
            "rowsOut": rows_out,
            "duplicatesDropped": rows_in - rows_out,
            "exactDuplicates": duplicates,
            "partitions": sorted(written) if part is not None else [],
            "objects": [],
            "startedAt": started,
        }
        with publish_lock(lake, args.source_id):
            newer = newer_published(
                manifest_in_place(lake, args.dataset, args.source_id), args.source_order
            )
            if newer is None:
                manifest["objects"] = publish(lake, written, args.dataset, part, args.source_id)
                timings["publish"] = _ms_since(t2)
                manifest.update(finishedAt=_now(), timingsMs=timings)
                lake.write_text(
                    manifest_key(args.dataset, args.source_id), json.dumps(manifest, indent=2) + "\n"
                )
    finally:
        lake.delete_prefix(temp_key)
    if newer is not None:
        # A newer version of this key published meanwhile: its objects and manifest stay, this
        # run's temp output is gone, and the state machine's Verify stands the run down.
        log.warning(
            "%s: not published, version %s (source order %s) is in place",
            args.source_id,
            newer["versionTag"],
            newer["sourceOrder"],
        )
        timings["publish"] = _ms_since(t2)
        manifest.update(
            partitions=[],
            finishedAt=_now(),
            timingsMs=timings,
            superseded={"byVersionTag": newer["versionTag"], "bySourceOrder": newer["sourceOrder"]},
        )
    return manifest


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------

REQUIRED = ("staging", "lake", "dataset", "source_id", "version_tag")
OPTIONAL = ("plan", "temp", "engine", "source_order")


def _glue_args(argv: list[str]) -> JobArgs | None:
    """Glue passes `--JOB_NAME` and friends; getResolvedOptions only knows required names, so
    optional ones are looked up when present."""
    try:
        from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]
    except ImportError:
        return None
    present = [o for o in OPTIONAL if f"--{o}" in argv]
    opts = getResolvedOptions(argv, ["JOB_NAME", *REQUIRED, *present])
    values = {k: opts[k] for k in (*REQUIRED, *present)}
    values.setdefault("engine", "glue")
    return JobArgs(**values)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Staging JSON Lines -> curated Parquet (one source file)")
    p.add_argument("--staging", help="staging prefix of the file: folder or s3:// URI")
    p.add_argument("--lake", help="lake root: folder laid out like the bucket, or s3://bucket/")
    p.add_argument("--dataset")
    p.add_argument("--source_id")
    p.add_argument("--version_tag")
    p.add_argument(
        "--source_order",
        help="the version's order key (claim's sourceOrder); never publish over a newer one",
    )
    p.add_argument("--plan", help="plan.json location (default: <staging>/plan.json)")
    p.add_argument("--temp", help="temp prefix inside the lake, outside curated/ (default: tmp/transform/<source_id>-<nonce>/)")
    p.add_argument("--engine", default="spark", choices=("spark", "glue"))
    p.add_argument(
        "--jobs",
        help="local batching: a JSON file with a list of job argument objects, run one after "
        "another in one Spark session (saves the JVM start per file)",
    )
    p.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Spark setting for the local session (repeatable)",
    )
    p.add_argument("--master", default=os.environ.get("ETL_SPARK_MASTER", "local[2]"))
    p.add_argument("--driver_memory", default=os.environ.get("ETL_SPARK_DRIVER_MEMORY", "1g"))
    return p


def _local_session(master: str, driver_memory: str, extra: Sequence[str] = ()):
    """Plain local Spark, quiet, no UI. `extra` (`spark.key=value`) is applied last, so it wins."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.appName("serverless-etl-transform")
        .master(master)
        .config("spark.driver.memory", driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # Small shuffles for one file on one machine (AQE coalesces further); Glue sets its own.
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        # A local run is a short-lived JVM on a small machine: compiling (C2, whole-stage
        # codegen) costs more than it saves. Measured on 2 busy cores: the parity batch 214 s ->
        # 46 s, a 100 MB staging file 100 s -> 82 s. Glue keeps its own defaults.
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.codegen.wholeStage", "false")
    )
    for setting in extra:
        key, sep, value = setting.partition("=")
        if not sep or not key.startswith("spark."):
            raise TransformInputError(f"--conf {setting!r}: use spark.<key>=<value>")
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def describe_error(e: BaseException) -> dict[str, str]:
    """An exception as {type, message}, without the Java stack a Py4J error carries."""
    text = str(e)
    if "\n\tat " in text or "Py4J" in type(e).__name__:
        lines = [line for line in text.splitlines() if line.strip() and not line.startswith("\tat ")]
        causes = [line for line in lines if line.startswith("Caused by: ")]
        # The innermost cause is what went wrong (e.g. a non-canonical value on a named line);
        # the outer lines only say which Spark stage carried it.
        text = causes[-1][len("Caused by: ") :] if causes else "\n".join(lines[:3])
    return {"type": type(e).__name__, "message": text[:4000]}


def main(argv: list[str]) -> int:
    """Runs one job (Glue or local), or a local batch (--jobs). For each job it prints one line
    `ETL_JOB_RESULT {"job": i, "ok": true, "manifest": ...}` or `... "ok": false, "error": ...`
    and exits 1 if any job failed. A failed job in a batch does not stop the next one."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s etl_job %(levelname)s %(message)s")
    try:
        glue = _glue_args(argv)
        if glue is not None:
            from pyspark.sql import SparkSession

            manifest = run_job(SparkSession.builder.getOrCreate(), glue)
            print(RESULT_MARK + json.dumps({"job": 0, "ok": True, "manifest": manifest}), flush=True)
            return 0
        ns = _parser().parse_args(argv[1:])
        if ns.jobs:
            with open(ns.jobs, encoding="utf-8") as f:
                jobs = [JobArgs(**j) for j in json.load(f)]
        else:
            missing = [f"--{k}" for k in REQUIRED if getattr(ns, k) is None]
            if missing:
                raise TransformInputError(f"missing arguments: {' '.join(missing)}")
            jobs = [JobArgs(**{k: getattr(ns, k) for k in (*REQUIRED, *OPTIONAL)})]
    except Exception as e:  # noqa: BLE001 — reported in one parseable line
        print(ERROR_MARK + json.dumps(describe_error(e)), file=sys.stderr, flush=True)
        raise
    failed = 0
    spark = None
    try:
        for i, job in enumerate(jobs):
            try:
                # Input checks first: a missing _SUCCESS is reported without starting a JVM.
                check_args(job)
                open_staging(job)
                if spark is None:
                    spark = _local_session(ns.master, ns.driver_memory, ns.conf)
                manifest = run_job(spark, job)
                log.info(
                    "transformed %s: %s rows in, %s out",
                    job.source_id,
                    manifest["rowsIn"],
                    manifest["rowsOut"],
                )
                line = {"job": i, "ok": True, "manifest": manifest}
            except Exception as e:  # noqa: BLE001 — the caller decides what a failure means
                failed += 1
                line = {"job": i, "ok": False, "error": describe_error(e)}
                print(ERROR_MARK + json.dumps(line["error"]), file=sys.stderr, flush=True)
            print(RESULT_MARK + json.dumps(line), flush=True)
    finally:
        if spark is not None:
            spark.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
