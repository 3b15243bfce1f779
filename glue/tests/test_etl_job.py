"""Unit tests for the Glue job's pure functions and its publish step (local folder and S3 on a
moto server). Spark-backed tests share one small session (conftest.py)."""

from __future__ import annotations

import copy
import json
import os
import re

import pytest

import etl_job
from etl_job import JobArgs, LocalStore, S3Store, TransformInputError

SOURCE_ID = "orders-0123456789ab"


# ------------------------------------------------------------------------------ plan checks


def test_a_plan_from_core_plan_loads_unchanged(mix_plan):
    loaded = etl_job.load_plan(json.dumps(mix_plan), "s3://lake/staging/x/plan.json")
    assert loaded == mix_plan


@pytest.mark.parametrize(
    "breakage, field",
    [
        (lambda p: p.update(planVersion=1), "planVersion"),
        (lambda p: p.pop("stagingTypes"), "stagingTypes"),
        (lambda p: p["dedupe"]["orderBy"].pop(), "dedupe.orderBy"),
        (lambda p: p["columns"][0].update(name="Order Id; DROP"), "columns[0].name"),
        (lambda p: p["stagingTypes"]["amount"].update(scale=40), "stagingTypes.amount"),
        (lambda p: p["partition"].update(source="label", name="label"), "partition.kind"),
    ],
)
def test_a_broken_plan_is_refused_naming_the_file_and_field(mix_plan, breakage, field):
    plan = copy.deepcopy(mix_plan)
    breakage(plan)
    with pytest.raises(TransformInputError) as err:
        etl_job.load_plan(json.dumps(plan), "staging/parity_mix/a/v1/plan.json")
    assert "staging/parity_mix/a/v1/plan.json" in str(err.value)
    assert field in str(err.value)
    assert "Fix:" in str(err.value)


# ------------------------------------------------------------------------------ canonical text


@pytest.mark.parametrize(
    "plan_type, good, bad",
    [
        ({"type": "integer"}, ["0", "-42", "9223372036854775807"], ["01", "1.0", "+1", " 1", "1e3"]),
        (
            {"type": "decimal", "precision": 12, "scale": 2},
            ["0.00", "-1234567890.12", "1.50"],
            ["1.5", "1.234", "12345678901.00", ".50", "1,50"],
        ),
        ({"type": "decimal", "precision": 5, "scale": 5}, ["0.99999", "-0.00001"], ["1.00000", "0.9"]),
        ({"type": "boolean"}, ["true", "false"], ["TRUE", "1", "yes"]),
        ({"type": "date"}, ["0001-01-01", "2024-02-29"], ["2024-2-29", "24-02-29", "2024-13-01"]),
        (
            {"type": "timestamp"},
            ["2024-03-31T01:30:00.000000Z"],
            ["2024-03-31T01:30:00Z", "2024-03-31 01:30:00.000000Z", "2024-03-31T01:30:00.000000+01:00"],
        ),
        ({"type": "double"}, ["0.1", "1e+300", "-0", "5e-324"], ["NaN", "Infinity", "1E5", ".5"]),
    ],
)
def test_canonical_patterns_accept_canonical_text_only(plan_type, good, bad):
    pattern = re.compile(rf"(?:{etl_job.canonical_pattern(plan_type)})\Z")
    assert [g for g in good if not pattern.match(g)] == []
    assert [b for b in bad if pattern.match(b)] == []


# ------------------------------------------------------------------------------ job arguments


@pytest.mark.parametrize(
    "change",
    [
        {"source_id": "../../etc"},
        {"version_tag": "v1/../x"},
        {"dataset": "Orders"},
        {"temp": "curated/parity_mix/"},
        {"temp": "_tmp/../curated/"},
        {"source_order": "0A"},
        {"source_order": "'; DROP"},
    ],
)
def test_ids_that_could_escape_their_place_are_refused(change):
    args = {
        "staging": "/tmp/s",
        "lake": "/tmp/l",
        "dataset": "parity_mix",
        "source_id": SOURCE_ID,
        "version_tag": "v1",
        **change,
    }
    with pytest.raises(TransformInputError):
        etl_job.check_args(JobArgs(**args))


def test_staging_without_success_is_refused_before_spark_starts(staging_copy):
    staging = staging_copy("missing_success")
    args = JobArgs(staging, os.path.dirname(staging), "parity_mix", SOURCE_ID, "v1")
    with pytest.raises(TransformInputError, match="has no _SUCCESS.*Re-run"):
        etl_job.open_staging(args)


def test_a_staging_prefix_with_both_jsonl_and_parquet_parts_is_refused(staging_copy):
    """core/staging.ts: a prefix holds .jsonl parts or .parquet parts, never both (issue 13)."""
    import shutil

    staging = staging_copy("numeric_limits")
    shutil.copyfile(os.path.join(staging, "part-00000.jsonl"), os.path.join(staging, "part-00001.parquet"))
    plan = os.path.join(os.path.dirname(__file__), "fixtures", "parity_mix.plan.json")
    args = JobArgs(staging, os.path.dirname(staging), "parity_mix", SOURCE_ID, "v1", plan=plan)
    with pytest.raises(
        TransformInputError,
        match=r"both JSON Lines parts \(part-00000\.jsonl\) and Parquet parts \(part-00001\.parquet\)",
    ):
        etl_job.open_staging(args)
    os.remove(os.path.join(staging, "part-00000.jsonl"))
    _store, parts, _plan = etl_job.open_staging(args)
    assert [os.path.basename(p) for p in parts] == ["part-00001.parquet"]
    assert etl_job.is_parquet_staging(parts)


def test_csv_staging_parts_need_their_layout_and_no_other_mix(staging_copy):
    """core/staging.ts: CSV parts are read with plan.json `stagingCsv`, beside one JSON Lines part at
    most; a prefix without the layout, or mixing other parts in, is refused before Spark starts."""
    import json
    import shutil

    staging = staging_copy("numeric_limits")
    plan_file = os.path.join(os.path.dirname(__file__), "fixtures", "parity_mix.plan.json")
    shutil.copyfile(os.path.join(staging, "part-00000.jsonl"), os.path.join(staging, "part-00001.csv"))
    args = JobArgs(staging, os.path.dirname(staging), "parity_mix", SOURCE_ID, "v1", plan=plan_file)
    with pytest.raises(TransformInputError, match=r"CSV parts \(part-00001\.csv\) but its plan\.json has no stagingCsv"):
        etl_job.open_staging(args)

    plan = json.loads(open(plan_file).read())
    columns = plan["stagingColumns"]
    layout = {
        "delimiter": ",",
        "quote": '"',
        "fields": len(columns),
        "columnFields": {c: i for i, c in enumerate(columns)},
        "maxLineBytes": 100,
        "rows": 1,
    }
    with_layout = os.path.join(os.path.dirname(staging), "plan-csv.json")
    with open(with_layout, "w") as f:
        json.dump({**plan, "stagingCsv": layout}, f)
    args = JobArgs(staging, os.path.dirname(staging), "parity_mix", SOURCE_ID, "v1", plan=with_layout)
    _store, parts, got = etl_job.open_staging(args)
    assert [os.path.basename(p) for p in parts] == ["part-00000.jsonl", "part-00001.csv"]
    assert etl_job.is_csv_staging(parts) and etl_job.is_typed_staging(parts)
    assert not etl_job.is_parquet_staging(parts)
    assert got["stagingCsv"] == layout

    shutil.copyfile(os.path.join(staging, "part-00000.jsonl"), os.path.join(staging, "part-00002.jsonl"))
    with pytest.raises(TransformInputError, match=r"CSV parts \(part-00001\.csv\) and part-00002\.jsonl"):
        etl_job.open_staging(args)
    os.remove(os.path.join(staging, "part-00002.jsonl"))

    for bad, where in (
        ({**layout, "columnFields": {columns[0]: 0}}, "stagingCsv.columnFields"),
        ({**layout, "fields": 0}, "stagingCsv.fields"),
        ({**layout, "quote": ","}, "stagingCsv"),
        ({**layout, "delimiter": "ab"}, "stagingCsv.delimiter"),
        ({**layout, "columnFields": {**layout["columnFields"], columns[0]: len(columns)}}, "stagingCsv.columnFields"),
    ):
        with open(with_layout, "w") as f:
            json.dump({**plan, "stagingCsv": bad}, f)
        with pytest.raises(TransformInputError, match=re.escape(where)):
            etl_job.open_staging(args)


def test_on_glue_the_job_arguments_come_from_get_resolved_options(monkeypatch):
    """Glue passes `--JOB_NAME` and its own arguments; optional ones may be absent."""
    import sys
    import types

    seen = {}

    def get_resolved_options(argv, names):
        seen["names"] = names
        return {n: argv[argv.index(f"--{n}") + 1] for n in names}

    utils = types.ModuleType("awsglue.utils")
    utils.getResolvedOptions = get_resolved_options
    monkeypatch.setitem(sys.modules, "awsglue", types.ModuleType("awsglue"))
    monkeypatch.setitem(sys.modules, "awsglue.utils", utils)
    argv = ["etl_job.py", "--JOB_NAME", "serverless-etl-transform", "--job-bookmark-option", "x"]
    argv += ["--staging", "s3://lake/staging/parity_mix/a/v1/", "--lake", "s3://lake/"]
    argv += ["--dataset", "parity_mix", "--source_id", SOURCE_ID, "--version_tag", "v1"]

    args = etl_job._glue_args(argv)

    assert "plan" not in seen["names"] and "temp" not in seen["names"]
    assert "source_order" not in seen["names"]
    assert args == JobArgs(
        "s3://lake/staging/parity_mix/a/v1/", "s3://lake/", "parity_mix", SOURCE_ID, "v1", engine="glue"
    )


def test_staging_on_s3_is_checked_and_its_parts_read_as_s3_paths(moto_s3, mix_plan):
    moto_s3.create_bucket(Bucket="lake-open")
    prefix = f"staging/parity_mix/{SOURCE_ID}/v1/"
    for name, body in {
        "part-00000.jsonl": b"{}\n",
        "part-00001.jsonl": b"{}\n",
        "plan.json": json.dumps(mix_plan).encode(),
        "_SUCCESS": b"",
    }.items():
        moto_s3.put_object(Bucket="lake-open", Key=prefix + name, Body=body)
    args = JobArgs(f"s3://lake-open/{prefix}", "s3://lake-open/", "parity_mix", SOURCE_ID, "v1")

    _store, parts, plan = etl_job.open_staging(args, moto_s3)

    assert parts == [f"s3://lake-open/{prefix}part-00000.jsonl", f"s3://lake-open/{prefix}part-00001.jsonl"]
    assert plan == mix_plan
    moto_s3.delete_object(Bucket="lake-open", Key=prefix + "_SUCCESS")
    with pytest.raises(TransformInputError, match="has no _SUCCESS"):
        etl_job.open_staging(args, moto_s3)


# ------------------------------------------------------------------------------ publishing


def _seed(store, keys: dict[str, str]) -> None:
    for key, text in keys.items():
        store.write_text(key, text)


def _publish_scenario(store) -> None:
    """File A owned days 01..03; file B shares day 02. A's re-run now has rows for 02 and 04."""
    _seed(
        store,
        {
            f"curated/t/d=2024-05-01/{SOURCE_ID}.snappy.parquet": "A old 01",
            f"curated/t/d=2024-05-02/{SOURCE_ID}.snappy.parquet": "A old 02",
            f"curated/t/d=2024-05-03/{SOURCE_ID}.snappy.parquet": "A old 03",
            "curated/t/d=2024-05-02/other-ba9876543210.snappy.parquet": "B 02",
            "tmp/transform/run/__etl_partition__=2024-05-02/part-00000-x.snappy.parquet": "A new 02",
            "tmp/transform/run/__etl_partition__=2024-05-04/part-00001-x.snappy.parquet": "A new 04",
            "tmp/transform/run/__etl_partition__=2024-05-04/.part-00001-x.snappy.parquet.crc": "checksum",
        },
    )
    written = etl_job.written_partitions(store, "tmp/transform/run/")
    assert written == {
        "2024-05-02": ["tmp/transform/run/__etl_partition__=2024-05-02/part-00000-x.snappy.parquet"],
        "2024-05-04": ["tmp/transform/run/__etl_partition__=2024-05-04/part-00001-x.snappy.parquet"],
    }
    objects = etl_job.publish(store, written, "t", "d", SOURCE_ID)
    store.delete_prefix("tmp/transform/run/")

    assert objects == [
        f"curated/t/d=2024-05-02/{SOURCE_ID}.snappy.parquet",
        f"curated/t/d=2024-05-04/{SOURCE_ID}.snappy.parquet",
    ]
    assert store.list("") == sorted(
        [*objects, "curated/t/d=2024-05-02/other-ba9876543210.snappy.parquet"]
    )
    assert store.read_text(objects[0]) == "A new 02"
    assert store.read_text("curated/t/d=2024-05-02/other-ba9876543210.snappy.parquet") == "B 02"


def test_publish_replaces_only_this_files_objects_in_a_local_lake(tmp_path):
    _publish_scenario(LocalStore(str(tmp_path / "lake")))
    # The emptied day folders are gone, as on S3 (publish.ts does the same for DuckDB).
    assert sorted(os.listdir(tmp_path / "lake" / "curated" / "t")) == ["d=2024-05-02", "d=2024-05-04"]


def test_publish_replaces_only_this_files_objects_in_s3(moto_s3):
    moto_s3.create_bucket(Bucket="lake-publish")
    _publish_scenario(S3Store("lake-publish", "", moto_s3))


def test_s3_locations_open_as_s3_stores_with_their_prefix(moto_s3):
    moto_s3.create_bucket(Bucket="lake-staging")
    moto_s3.put_object(Bucket="lake-staging", Key="staging/t/a/v1/_SUCCESS", Body=b"")
    store = etl_job.open_store("s3://lake-staging/staging/t/a/v1", moto_s3)
    assert isinstance(store, S3Store)
    assert store.exists("_SUCCESS")
    assert not store.exists("plan.json")
    assert store.spark_path("part-00000.jsonl") == "s3://lake-staging/staging/t/a/v1/part-00000.jsonl"


def test_a_local_key_cannot_leave_the_lake_folder(tmp_path):
    with pytest.raises(TransformInputError, match="leaves the lake"):
        LocalStore(str(tmp_path)).write_text("../outside.json", "{}")


# ------------------------------------------------------------------------------ Spark


def _rows(spark, plan, rows):
    raw = spark.createDataFrame(
        [{**{c: None for c in plan["stagingColumns"]}, **r} for r in rows],
        etl_job.staging_schema(plan),
    )
    return etl_job.apply_plan(raw, plan).collect()


def test_dedupe_keeps_the_first_row_by_typed_order_nulls_last_then_line(spark, mix_plan):
    day = {"sale_date": "2024-01-01"}
    kept = _rows(
        spark,
        mix_plan,
        [
            # revision is dropped from the output but orders as an integer: 10 beats 9.
            {"order_id": "A", "line_no": "1", "revision": "9", "comment": "loses", "_line": 2, **day},
            {"order_id": "A", "line_no": "1", "revision": "10", "comment": "kept", "_line": 3, **day},
            # desc nulls last: a null revision never wins over a value.
            {"order_id": "C", "line_no": "1", "revision": None, "comment": "loses", "_line": 4, **day},
            {"order_id": "C", "line_no": "1", "revision": "1", "comment": "kept", "_line": 5, **day},
            # exact tie: the plan's tie-breaker is _line ascending (firstLine).
            {"order_id": "B", "line_no": "1", "comment": "kept", "_line": 6, **day},
            {"order_id": "B", "line_no": "1", "comment": "loses", "_line": 7, **day},
        ],
    )
    assert sorted((r["order_id"], r["comment"]) for r in kept) == [
        ("A", "kept"),
        ("B", "kept"),
        ("C", "kept"),
    ]
    # The dropped column is gone and the partition column is the folder only: its YYYY-MM-DD text
    # is the internal partition column the write partitions by.
    assert kept[0].asDict().keys() == {
        *(c["name"] for c in mix_plan["columns"] if c["name"] != "sale_date"),
        etl_job.PARTITION_COLUMN,
    }
    assert {r[etl_job.PARTITION_COLUMN] for r in kept} == {"2024-01-01"}


def test_a_value_that_is_not_canonical_fails_naming_line_and_column(spark, mix_plan):
    with pytest.raises(Exception) as err:
        _rows(
            spark,
            mix_plan,
            [{"order_id": "X", "line_no": "1", "sale_date": "2024-01-01", "amount": "1.234", "_line": 9}],
        )
    assert 'staging line 9, column amount: "1.234" is not canonical decimal(38,2) text' in str(err.value)


# End-to-end runs of the job (one object per day, manifest, re-runs, failures) are in the parity
# suite, test/parity, which runs this script on local Spark next to the DuckDB engine.


def test_a_run_that_dies_before_publishing_leaves_the_lake_as_it_was(
    spark, staging_copy, mix_plan, tmp_path, monkeypatch
):
    staging = staging_copy("duplicate_keys")
    with open(os.path.join(staging, "plan.json"), "w") as f:
        json.dump(mix_plan, f)
    lake = LocalStore(str(tmp_path / "lake"))
    earlier = {
        f"curated/parity_mix/sale_date=2024-01-01/{SOURCE_ID}.snappy.parquet": "previous run",
        f"manifests/parity_mix/{SOURCE_ID}.json": '{"versionTag": "v0"}',
    }
    _seed(lake, earlier)

    def die(*_args, **_kwargs):
        raise RuntimeError("killed between the Spark write and the publish")

    monkeypatch.setattr(etl_job, "publish", die)
    with pytest.raises(RuntimeError, match="killed"):
        etl_job.run_job(spark, JobArgs(staging, lake.root, "parity_mix", SOURCE_ID, "v1"))

    # Spark's files never left the temp prefix, which is gone; readers saw nothing of this run.
    assert [k for k in lake.list("") if not k.startswith("staging/")] == sorted(earlier)
    assert all(lake.read_text(k) == text for k, text in earlier.items())


# ------------------------------------------------------------------------------ versions of one key

OLDER = "00617F08299329D189".ljust(64, "0")
NEWER = "00617F0829A0000000".ljust(64, "0")


@pytest.mark.parametrize(
    "in_place, ours, refused",
    [
        ({"versionTag": "v2", "sourceOrder": NEWER}, OLDER, True),  # a newer version is in place
        ({"versionTag": "v1", "sourceOrder": OLDER}, OLDER, False),  # a re-run of the same version
        ({"versionTag": "v1", "sourceOrder": OLDER}, NEWER, False),  # an older version is in place
        ({"versionTag": "v0"}, OLDER, False),  # written before versions were ordered
        ({"versionTag": "v2", "sourceOrder": "zz"}, OLDER, False),  # not an order key: ignored
        (None, OLDER, False),  # nothing published yet
        ({"versionTag": "v2", "sourceOrder": NEWER}, "unordered", False),  # no order known
        ({"versionTag": "v2", "sourceOrder": NEWER}, None, False),
    ],
)
def test_a_run_refuses_to_publish_only_over_a_newer_version(in_place, ours, refused):
    newer = etl_job.newer_published(in_place, ours)
    assert (newer is not None) == refused
    if refused:
        assert newer == {"versionTag": "v2", "sourceOrder": NEWER}


def _older_version_run(spark, staging_copy, mix_plan, tmp_path, in_place_order):
    staging = staging_copy("duplicate_keys")
    with open(os.path.join(staging, "plan.json"), "w") as f:
        json.dump(mix_plan, f)
    lake = LocalStore(str(tmp_path / "lake"))
    in_place = {
        f"curated/parity_mix/sale_date=2024-01-01/{SOURCE_ID}.snappy.parquet": "version 2's rows",
        f"manifests/parity_mix/{SOURCE_ID}.json": json.dumps(
            {"versionTag": "v2", "sourceOrder": in_place_order, "objects": []}
        ),
    }
    _seed(lake, in_place)
    result = etl_job.run_job(
        spark, JobArgs(staging, lake.root, "parity_mix", SOURCE_ID, "v1", source_order=OLDER)
    )
    return lake, in_place, result


def test_an_older_version_never_publishes_over_a_newer_ones_output(
    spark, staging_copy, mix_plan, tmp_path
):
    lake, in_place, result = _older_version_run(spark, staging_copy, mix_plan, tmp_path, NEWER)

    assert result["superseded"] == {"byVersionTag": "v2", "bySourceOrder": NEWER}
    assert result["objects"] == [] and result["sourceOrder"] == OLDER
    # The newer version's objects and manifest are exactly as they were; the temp output and the
    # publish lock are gone.
    assert [k for k in lake.list("") if not k.startswith("staging/")] == sorted(in_place)
    assert all(lake.read_text(k) == text for k, text in in_place.items())


def test_a_re_run_of_the_same_version_publishes_and_records_its_order(
    spark, staging_copy, mix_plan, tmp_path
):
    lake, _in_place, result = _older_version_run(spark, staging_copy, mix_plan, tmp_path, OLDER)

    assert "superseded" not in result and result["objects"]
    written = json.loads(lake.read_text(f"manifests/parity_mix/{SOURCE_ID}.json"))
    assert written["versionTag"] == "v1" and written["sourceOrder"] == OLDER
    assert not [k for k in lake.list("") if k.startswith("tmp/")]


@pytest.mark.parametrize("where", ["local", "s3"])
def test_the_publish_lock_lets_one_run_in_at_a_time_and_breaks_a_killed_runs_lock(
    where, tmp_path, moto_s3, monkeypatch
):
    if where == "s3":
        moto_s3.create_bucket(Bucket="lake-lock")
        lake = S3Store("lake-lock", "", moto_s3)
    else:
        lake = LocalStore(str(tmp_path / "lake"))
    lock = f"tmp/transform/{SOURCE_ID}.publish.lock"

    with etl_job.publish_lock(lake, SOURCE_ID):
        assert lake.exists(lock)
        # A second publisher of the same source waits, then gives up naming the lock.
        with pytest.raises(RuntimeError, match="publish.lock"):
            with etl_job.publish_lock(lake, SOURCE_ID, wait_seconds=0.3):
                pass
    assert not lake.exists(lock)

    # A lock left by a killed run is taken over once it is older than STALE_LOCK_SECONDS.
    assert lake.create_exclusive(lock, "killed run")
    monkeypatch.setattr(etl_job, "STALE_LOCK_SECONDS", -1)
    with etl_job.publish_lock(lake, SOURCE_ID, wait_seconds=5):
        assert lake.read_text(lock) != "killed run"
    assert not lake.exists(lock)


@pytest.mark.parametrize("botocore_knows_if_none_match", [True, False])
def test_the_s3_lock_is_a_conditional_put_with_a_new_or_an_old_botocore(
    botocore_knows_if_none_match, moto_s3, monkeypatch
):
    # Glue's own boto3 may predate the IfNoneMatch parameter; the header is then added directly.
    monkeypatch.setattr(etl_job, "put_object_knows_if_none_match", lambda _s3: botocore_knows_if_none_match)
    bucket = f"lake-cond-{str(botocore_knows_if_none_match).lower()}"  # the moto server is shared
    moto_s3.create_bucket(Bucket=bucket)
    lake = S3Store(bucket, "", moto_s3)

    assert lake.create_exclusive("tmp/transform/x.publish.lock", "first")
    assert not lake.create_exclusive("tmp/transform/x.publish.lock", "second")
    assert lake.read_text("tmp/transform/x.publish.lock") == "first"
    # The hook is gone afterwards: a plain put overwrites as usual.
    moto_s3.put_object(Bucket=bucket, Key="tmp/transform/x.publish.lock", Body=b"plain")
    assert lake.read_text("tmp/transform/x.publish.lock") == "plain"


def test_this_botocore_knows_if_none_match(moto_s3):
    # The installed botocore (glue/requirements-dev.txt) has the parameter: the direct path is used.
    assert etl_job.put_object_knows_if_none_match(moto_s3)
