"""The scale-out backends for tests: a fresh PostgreSQL database, a Redis key prefix, moto S3."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from moto.server import ThreadedMotoServer

from tests.harness import free_port

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"


def answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database for one test module, dropped afterwards."""
    import psycopg

    name = f"deepres_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def moto_s3(bucket: str = "results") -> Iterator[str]:
    """moto's S3 server on loopback with one bucket; yields its endpoint URL."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    url = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket=bucket)
    try:
        yield url
    finally:
        server.stop()


@contextmanager
def scaleout_env() -> Iterator[dict[str, str]]:
    """Settings for PostgreSQL + Redis + S3, each run isolated from every other."""
    with postgres_database() as db, moto_s3() as s3:
        yield {
            "DEEPRES_DATABASE_URL": db,
            "DEEPRES_BROKER_URL": REDIS_URL,
            "DEEPRES_BROKER_KEY_PREFIX": f"deepres-test-{uuid.uuid4().hex[:8]}:",
            "DEEPRES_STORAGE_URL": "s3://results/deepres",
            "DEEPRES_S3_ENDPOINT_URL": s3,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        }
