"""Plan v2 in the Glue job: datasets without a key or a partition, partitions derived from dates
and timestamps, text partitions, and the exact-duplicate count. The same rules as core/plan.ts
and transform/duckdb.ts; the parity suite (test/parity) runs both engines end to end."""

from __future__ import annotations

import copy
import json

import pytest

import etl_job
from etl_job import LocalStore, TransformInputError

SOURCE_ID = "readings-0123456789ab"


def _plan(partition=None, dedupe=None, columns=None) -> dict:
    columns = columns or [
        {"source": "reading_id", "name": "reading_id", "type": "string"},
        {"source": "taken_on", "name": "taken_on", "type": "date"},
        {"source": "taken_at", "name": "taken_at", "type": "timestamp"},
        {"source": "region", "name": "region", "type": "string"},
    ]
    return {
        "planVersion": 2,
        "dataset": "sensor-readings",
        "table": "sensor_readings",
        "stagingColumns": [c["source"] for c in columns],
        "stagingTypes": {c["source"]: {"type": c["type"]} for c in columns},
        "columns": columns,
        "dedupe": dedupe,
        "partition": partition,
        "output": {"format": "parquet", "compression": "snappy", "timestampUnit": "micros", "maxRowsPerFile": 1000},
    }


MONTH = {"source": "taken_on", "name": "taken_on_month", "kind": "date", "granularity": "month", "keepColumn": True}
TS_DAY = {"source": "taken_at", "name": "taken_at_day", "kind": "timestamp", "granularity": "day", "keepColumn": True}
TS_YEAR = {"source": "taken_at", "name": "taken_at_year", "kind": "timestamp", "granularity": "year", "keepColumn": True}
DAY = {"source": "taken_on", "name": "taken_on", "kind": "date", "granularity": "day", "keepColumn": False}
TEXT = {"source": "region", "name": "region", "kind": "string", "granularity": None, "keepColumn": False}
KEY = {"key": ["reading_id"], "orderBy": [{"column": "_line", "direction": "desc"}]}


# ------------------------------------------------------------------------------ plan checks


@pytest.mark.parametrize("partition", [None, MONTH, TS_DAY, TS_YEAR, DAY, TEXT])
@pytest.mark.parametrize("dedupe", [None, KEY])
def test_every_v2_shape_loads_with_a_hyphenated_dataset(partition, dedupe):
    plan = _plan(partition, dedupe)
    assert etl_job.load_plan(json.dumps(plan), "plan.json") == plan


@pytest.mark.parametrize(
    "partition, field",
    [
        ({**MONTH, "keepColumn": False}, "partition.keepColumn"),
        ({**DAY, "keepColumn": True}, "partition.keepColumn"),
        ({**TEXT, "granularity": "day"}, "partition.granularity"),
        ({**MONTH, "granularity": "week"}, "partition.granularity"),
        ({**MONTH, "kind": "timestamp"}, "partition.kind"),
        ({**MONTH, "name": "taken_on"}, "partition.name"),
        ({**MONTH, "name": "Taken Month"}, "partition.name"),
        ({**TEXT, "source": "nowhere"}, "partition.source"),
    ],
)
def test_a_partition_against_the_partition_rules_is_refused(partition, field):
    with pytest.raises(TransformInputError) as err:
        etl_job.load_plan(json.dumps(_plan(partition)), "staging/x/plan.json")
    assert field in str(err.value) and "staging/x/plan.json" in str(err.value)


def test_dedupe_and_partition_must_be_present_even_when_null():
    for field in ("dedupe", "partition"):
        plan = _plan()
        plan.pop(field)
        with pytest.raises(TransformInputError, match=field):
            etl_job.load_plan(json.dumps(plan), "plan.json")
    with pytest.raises(TransformInputError, match="dedupe.key"):
        etl_job.load_plan(json.dumps(_plan(dedupe={"key": [], "orderBy": []})), "plan.json")


def test_a_column_whose_source_is_not_its_name_is_refused():
    plan = _plan()
    plan["columns"][0] = {**plan["columns"][0], "name": "reading"}
    with pytest.raises(TransformInputError, match="differs from name"):
        etl_job.load_plan(json.dumps(plan), "plan.json")


def test_file_columns_and_key_types_follow_the_partition_table():
    names = lambda p: [c["name"] for c in etl_job.file_columns(_plan(p))]  # noqa: E731
    every = ["reading_id", "taken_on", "taken_at", "region"]
    assert names(None) == every
    assert names(MONTH) == every and names(TS_DAY) == every
    assert names(DAY) == ["reading_id", "taken_at", "region"]
    assert names(TEXT) == ["reading_id", "taken_on", "taken_at"]
    assert [etl_job.partition_key_type(_plan(p)) for p in (None, DAY, TS_DAY, MONTH, TS_YEAR, TEXT)] == [
        None, "date", "date", "string", "string", "string",
    ]


# ------------------------------------------------------------------------------ layout


def test_curated_objects_with_and_without_a_partition():
    assert etl_job.curated_object("sensor-readings", None, None, SOURCE_ID) == (
        f"curated/sensor-readings/{SOURCE_ID}.snappy.parquet"
    )
    assert etl_job.curated_object("t", "taken_on_month", "2024-02", SOURCE_ID) == (
        f"curated/t/taken_on_month=2024-02/{SOURCE_ID}.snappy.parquet"
    )


@pytest.mark.parametrize(
    "key, owned",
    [
        (f"curated/t/{SOURCE_ID}.snappy.parquet", True),
        (f"curated/t/m=2024-02/{SOURCE_ID}.snappy.parquet", True),
        (f"curated/t/region=eu-west.1/{SOURCE_ID}.snappy.parquet", True),
        (f"curated/t/region=__HIVE_DEFAULT_PARTITION__/{SOURCE_ID}.snappy.parquet", False),
        (f"curated/t/a=1/b=2/{SOURCE_ID}.snappy.parquet", False),
        (f"curated/t/x-{SOURCE_ID}.snappy.parquet", False),
        (f"curated/other/{SOURCE_ID}.snappy.parquet", False),
        (f"curated/t/m=2024-02/{SOURCE_ID}.part-00001.snappy.parquet", True),
        (f"curated/t/{SOURCE_ID}.part-00012.snappy.parquet", True),
        (f"curated/t/m=2024-02/{SOURCE_ID}.part-1.snappy.parquet", False),
        (f"curated/t/m=2024-02/{SOURCE_ID}-00001.snappy.parquet", False),
    ],
)
def test_only_this_files_objects_are_its_own(key, owned):
    assert etl_job.is_owned_object(key, "t", SOURCE_ID) is owned


def test_without_a_partition_the_one_object_replaces_its_own_and_leaves_others(tmp_path):
    store = LocalStore(str(tmp_path / "lake"))
    for key, text in {
        f"curated/t/{SOURCE_ID}.snappy.parquet": "A old",
        # The same file's object from when the table was partitioned: no longer its own place.
        f"curated/t/d=2024-05-01/{SOURCE_ID}.snappy.parquet": "A partitioned",
        "curated/t/other-ba9876543210.snappy.parquet": "B",
        "tmp/transform/run/__etl_partition__=all/part-00000-x.snappy.parquet": "A new",
    }.items():
        store.write_text(key, text)

    written = etl_job.written_partitions(store, "tmp/transform/run/")
    objects = etl_job.publish(store, written, "t", None, SOURCE_ID)

    assert objects == [f"curated/t/{SOURCE_ID}.snappy.parquet"]
    assert store.read_text(objects[0]) == "A new"
    assert store.list("curated/") == sorted([*objects, "curated/t/other-ba9876543210.snappy.parquet"])


def test_split_files_are_published_as_parts_in_the_order_the_task_wrote_them(tmp_path):
    """maxRowsPerFile rolled over twice in one task: -c000, -c001, -c002 become parts 0, 1, 2;
    a previous run's extra part of this file is removed."""
    store = LocalStore(str(tmp_path / "lake"))
    run = "tmp/transform/run/__etl_partition__=2024-05"
    for key, text in {
        f"{run}/part-00003-4f1e-9a2b-c002.snappy.parquet": "third",
        f"{run}/part-00003-4f1e-9a2b-c000.snappy.parquet": "first",
        f"{run}/part-00003-4f1e-9a2b-c001.snappy.parquet": "second",
        f"curated/t/m=2024-05/{SOURCE_ID}.part-00003.snappy.parquet": "stale part",
    }.items():
        store.write_text(key, text)

    written = etl_job.written_partitions(store, "tmp/transform/run/")
    objects = etl_job.publish(store, written, "t", "m", SOURCE_ID)

    assert [store.read_text(etl_job.curated_object("t", "m", "2024-05", SOURCE_ID, i)) for i in range(3)] == [
        "first", "second", "third",
    ]
    assert objects == sorted(etl_job.curated_object("t", "m", "2024-05", SOURCE_ID, i) for i in range(3))
    assert store.list("curated/") == objects


def test_files_of_two_tasks_for_one_value_are_refused(tmp_path):
    store = LocalStore(str(tmp_path / "lake"))
    store.write_text("tmp/transform/run/__etl_partition__=2024-05/part-00000-a-c000.snappy.parquet", "x")
    store.write_text("tmp/transform/run/__etl_partition__=2024-05/part-00001-a-c000.snappy.parquet", "y")
    with pytest.raises(RuntimeError, match="two tasks"):
        etl_job.written_partitions(store, "tmp/transform/run/")


def test_split_order_is_the_key_inside_the_files_else_every_file_column():
    assert etl_job.split_order(_plan(MONTH, KEY)) == ["reading_id"]
    assert etl_job.split_order(_plan(DAY)) == ["reading_id", "taken_at", "region"]


def test_max_rows_per_file_defaults_for_an_older_plan_and_must_be_a_whole_number():
    plan = _plan(MONTH, KEY)
    del plan["output"]["maxRowsPerFile"]  # written before plans carried it
    assert etl_job.load_plan(json.dumps(plan), "plan.json")["output"]["maxRowsPerFile"] == etl_job.DEFAULT_MAX_ROWS_PER_FILE
    plan["output"]["maxRowsPerFile"] = 3
    assert etl_job.load_plan(json.dumps(plan), "plan.json")["output"]["maxRowsPerFile"] == 3
    for bad in (0, 2.5, "10", True):
        plan["output"]["maxRowsPerFile"] = bad
        with pytest.raises(etl_job.TransformInputError, match="maxRowsPerFile"):
            etl_job.load_plan(json.dumps(plan), "plan.json")


def test_a_table_without_a_partition_never_publishes_partition_folders(tmp_path):
    store = LocalStore(str(tmp_path / "lake"))
    with pytest.raises(RuntimeError, match="without a partition"):
        etl_job.publish(store, {"2024-01-01": ["tmp/x"]}, "t", None, SOURCE_ID)


def test_objects_are_listed_in_code_point_order_as_the_duckdb_engine_lists_them(tmp_path):
    store = LocalStore(str(tmp_path / "lake"))
    written = {}
    for i, value in enumerate(["us", "US", "9lives", "a.b_c"]):
        written[value] = [f"tmp/transform/run/__etl_partition__={value}/part-{i}.parquet"]
        store.write_text(written[value][0], value)
    assert [k.split("/")[2] for k in etl_job.publish(store, written, "t", "region", SOURCE_ID)] == [
        "region=9lives", "region=US", "region=a.b_c", "region=us",
    ]


# ------------------------------------------------------------------------------ Spark


def _typed(spark, plan, rows):
    raw = spark.createDataFrame(
        [{**{c: None for c in plan["stagingColumns"]}, **r} for r in rows],
        etl_job.staging_schema(plan),
    )
    return raw, etl_job.apply_plan(raw, plan)


def test_partition_values_of_dates_and_utc_instants(spark):
    rows = [
        {"reading_id": "1", "taken_on": "0001-01-31", "taken_at": "2024-03-09T23:59:59.999999Z", "_line": 2},
        {"reading_id": "2", "taken_on": "2024-02-29", "taken_at": "2024-03-10T00:00:00.000000Z", "_line": 3},
        {"reading_id": "3", "taken_on": "9999-12-31", "taken_at": "2023-12-31T23:59:59.999999Z", "_line": 4},
    ]
    # Timestamps are folded by the UTC instant (configure_session sets the session zone to UTC;
    # the parity suite runs the whole job in America/St_Johns to prove the machine zone never counts).
    got = {
        name: [r[etl_job.PARTITION_COLUMN] for r in _typed(spark, _plan(p), rows)[1].orderBy("reading_id").collect()]
        for name, p in {"month": MONTH, "ts_day": TS_DAY, "ts_year": TS_YEAR, "day": DAY}.items()
    }
    assert got == {
        "month": ["0001-01", "2024-02", "9999-12"],
        "ts_day": ["2024-03-09", "2024-03-10", "2023-12-31"],
        "ts_year": ["2024", "2024", "2023"],
        "day": ["0001-01-31", "2024-02-29", "9999-12-31"],
    }


def test_without_a_key_every_row_is_kept_and_exact_duplicates_are_counted(spark):
    same = {"reading_id": "R1", "taken_on": "2024-01-01", "region": "eu"}
    raw, out = _typed(
        spark,
        _plan(None, None),
        [
            {**same, "_line": 2},
            {**same, "_line": 3},
            {**same, "region": None, "_line": 4},
            {**same, "region": None, "_line": 5},
            {**same, "region": "", "_line": 6},
        ],
    )
    assert out.count() == 5
    assert {r[etl_job.PARTITION_COLUMN] for r in out.collect()} == {etl_job.NO_PARTITION}
    # Lines 3 and 5 repeat lines 2 and 4 (nulls equal nulls); "" is not null.
    assert etl_job.exact_duplicates(raw) == 2


def test_a_text_partition_value_that_cannot_be_a_folder_fails_naming_line_and_column(spark):
    with pytest.raises(Exception) as err:
        _typed(spark, _plan(TEXT), [{"reading_id": "1", "region": "north america", "_line": 7}])[1].collect()
    assert 'staging line 7, column region: "north america" cannot be a partition value' in str(err.value)
    assert "BAD_PARTITION_VALUE" in str(err.value)
