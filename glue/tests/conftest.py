"""Shared fixtures for the Glue job's unit tests. The job is one script (glue/etl_job.py); its
folder goes on sys.path so the tests import its pure functions directly."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys

import pytest

GLUE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(GLUE_DIR)
sys.path.insert(0, GLUE_DIR)

FIXTURES = os.path.join(REPO_ROOT, "test", "fixtures", "parity")


@pytest.fixture(scope="session")
def spark():
    """One small local Spark for the whole run (starting one costs seconds)."""
    from pyspark.sql import SparkSession

    import etl_job

    session = (
        SparkSession.builder.master("local[1]")
        .appName("etl-job-tests")
        .config("spark.driver.memory", "512m")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        # Short-lived JVM, tiny data: skip the compilers (as etl_job's local session does).
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.codegen.wholeStage", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    etl_job.configure_session(session)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def mix_plan() -> dict:
    """The parity_mix plan, compiled by core/plan.ts (checked-in copy under glue/tests/fixtures)."""
    with open(os.path.join(os.path.dirname(__file__), "fixtures", "parity_mix.plan.json")) as f:
        return json.load(f)


@pytest.fixture()
def staging_copy(tmp_path):
    """Copies a parity fixture's staging folder into a fresh lake under tmp_path."""

    def copy(case: str, folder: str = "staging") -> str:
        target = tmp_path / "lake" / "staging" / case
        shutil.copytree(os.path.join(FIXTURES, "cases", case, folder), target)
        return str(target)

    return copy


@pytest.fixture(scope="session")
def moto_s3():
    """A moto server on loopback and an S3 client bound to it (never AWS)."""
    from moto.server import ThreadedMotoServer
    import boto3

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    yield client
    server.stop()
