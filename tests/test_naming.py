"""Tests for nblineage.lineage.naming: dataset names and credential redaction."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nblineage.lineage.naming import (
    DatasetName,
    dataset_from_uri,
    file_dataset,
    redact_secrets_in_text,
    sqlalchemy_namespace,
    strip_credentials,
    table_dataset,
)

LONG = 200_000


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run in a fresh directory and return its real absolute path."""
    monkeypatch.chdir(tmp_path)
    return os.getcwd()


# --- DatasetName -------------------------------------------------------------------------------------------


def test_dataset_name_is_frozen_and_hashable() -> None:
    name = DatasetName("s3://bucket", "key")
    with pytest.raises(dataclasses.FrozenInstanceError):
        name.name = "other"  # type: ignore[misc]
    assert {name, DatasetName("s3://bucket", "key")} == {name}
    assert name != DatasetName("s3://bucket", "other")


# --- file_dataset ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/abs/data.csv", "/abs/data.csv"),
        ("/abs/./x/../data.csv", "/abs/data.csv"),
        ("/abs//dir/", "/abs/dir"),
        ("/abs/with space/dätä ünïcode.csv", "/abs/with space/dätä ünïcode.csv"),
        ("/abs/a%20b.csv", "/abs/a%20b.csv"),  # a plain path is never percent-decoded
        (Path("/abs/p/q.parquet"), "/abs/p/q.parquet"),
    ],
)
def test_file_dataset_absolute(path: str | os.PathLike, expected: str) -> None:
    assert file_dataset(path) == DatasetName("file", expected)


def test_file_dataset_relative_and_missing(in_tmp: str) -> None:
    assert not os.path.exists("no/such/file.csv")
    assert file_dataset("no/such/file.csv") == DatasetName("file", os.path.join(in_tmp, "no/such/file.csv"))
    assert file_dataset("./a/../b.csv").name == os.path.join(in_tmp, "b.csv")
    assert file_dataset(Path("c.csv")).name == os.path.join(in_tmp, "c.csv")


def test_file_dataset_expands_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert file_dataset("~/data/x.csv") == DatasetName("file", str(tmp_path / "data" / "x.csv"))


@pytest.mark.parametrize("path", ["", "/abs/with\x00nul"])
def test_file_dataset_rejects_bad_paths(path: str) -> None:
    with pytest.raises(ValueError, match="path"):
        file_dataset(path)


# --- dataset_from_uri --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "namespace", "name"),
    [
        # object stores
        ("s3://bucket/key", "s3://bucket", "key"),
        ("s3://bucket/dir/part-0.parquet", "s3://bucket", "dir/part-0.parquet"),
        ("s3a://bucket/key", "s3://bucket", "key"),
        ("s3n://bucket/key", "s3://bucket", "key"),
        ("S3A://Bucket/Key", "s3://bucket", "Key"),
        ("s3://bucket/dir/", "s3://bucket", "dir"),
        ("s3://bucket", "s3://bucket", "/"),
        ("s3://bucket/", "s3://bucket", "/"),
        ("s3://bucket/key?versionId=3#frag", "s3://bucket", "key"),
        ("s3://bucket/my file.csv", "s3://bucket", "my file.csv"),
        ("s3://bucket/a%20b", "s3://bucket", "a%20b"),  # object keys are kept as written
        ("s3://bucket/ключ/数据.csv", "s3://bucket", "ключ/数据.csv"),
        ("s3://AKIAEXAMPLE:wJalr/K7MDENG+bPxRfi@bucket/key", "s3://bucket", "key"),
        ("gs://bucket/p", "gs://bucket", "p"),
        ("gcs://bucket/p/q", "gs://bucket", "p/q"),
        (
            "abfss://container@service.dfs.core.windows.net/path",
            "abfss://container@service.dfs.core.windows.net",
            "path",
        ),
        (
            "abfss://Container@Service.dfs.core.windows.net/a/b.parquet?sv=1&sig=x",
            "abfss://container@service.dfs.core.windows.net",
            "a/b.parquet",
        ),
        (
            "wasbs://container@service.blob.core.windows.net/p",
            "wasbs://container@service.blob.core.windows.net",
            "p",
        ),
        # local files
        ("file:///abs/p", "file", "/abs/p"),
        ("file://localhost/abs/p", "file", "/abs/p"),
        ("file:/abs/p", "file", "/abs/p"),
        ("file:///abs/x/../p%20q.csv", "file", "/abs/p q.csv"),
        ("file://fileserver/share/p.csv", "file://fileserver", "/share/p.csv"),
        ("/abs/p", "file", "/abs/p"),
        ("/abs/a b/ü.csv", "file", "/abs/a b/ü.csv"),
        # databases
        ("postgres://host:5432/db.schema.table", "postgres://host:5432", "db.schema.table"),
        ("postgres://host/db.schema.table", "postgres://host:5432", "db.schema.table"),
        ("postgresql://HOST:6543/db.schema.table", "postgres://host:6543", "db.schema.table"),
        ("postgresql+psycopg://u:p@host/db.schema.table", "postgres://host:5432", "db.schema.table"),
        ("postgresql+psycopg2://host:05432/db.s.t", "postgres://host:5432", "db.s.t"),
        ("postgres://[::1]/db.s.t", "postgres://[::1]:5432", "db.s.t"),
        ("postgres:///db.s.t", "postgres://localhost:5432", "db.s.t"),
        ("jdbc:postgresql://host/db.s.t", "postgres://host:5432", "db.s.t"),
        ("postgres://host/my%20db.s.t", "postgres://host:5432", "my db.s.t"),
        ("mysql://host:3306/db.table", "mysql://host:3306", "db.table"),
        ("mysql://host/db.table", "mysql://host:3306", "db.table"),
        ("mysql+pymysql://user:pw@host:3307/db.table", "mysql://host:3307", "db.table"),
        # anything else
        ("https://user:pw@Example.COM/a/b.csv?token=t", "https://example.com", "a/b.csv"),
        ("https://example.com:443/a", "https://example.com", "a"),
        ("https://example.com:8443/a", "https://example.com:8443", "a"),
        ("http://example.com:80/a", "http://example.com", "a"),
        ("kafka://broker:9092/topic", "kafka://broker:9092", "topic"),
        ("hdfs://namenode:8020/user/x", "hdfs://namenode:8020", "user/x"),
        ("hdfs:///user/x", "hdfs://", "user/x"),
        ("mssql+pyodbc://u:p@host/db.dbo.t", "mssql://host:1433", "db.dbo.t"),
        ("dbfs://workspace/mnt/x", "dbfs://workspace", "mnt/x"),
        ("https://bücher.example/ü", "https://bücher.example", "ü"),
        ("https://my%2Dhost/x", "https://my-host", "x"),
        ("https://h/p;password=S3CR3T;x=1", "https://h", "p;password=***;x=1"),
        ("mysql://h/db.t;pwd=S3CR3T", "mysql://h:3306", "db.t;pwd=***"),
        ("  s3://bucket/key  ", "s3://bucket", "key"),
    ],
)
def test_dataset_from_uri(uri: str, namespace: str, name: str) -> None:
    assert dataset_from_uri(uri) == DatasetName(namespace, name)


def test_dataset_from_uri_plain_paths_are_files(in_tmp: str) -> None:
    assert dataset_from_uri("data/x.csv") == file_dataset("data/x.csv")
    assert dataset_from_uri("data/x.csv") == DatasetName("file", os.path.join(in_tmp, "data/x.csv"))
    assert dataset_from_uri("x:y.csv").name == os.path.join(in_tmp, "x:y.csv")
    assert dataset_from_uri(Path("p.csv")) == DatasetName("file", os.path.join(in_tmp, "p.csv"))


def test_dataset_from_uri_file_uri_matches_path() -> None:
    assert dataset_from_uri("file:///tmp/x/y.csv") == dataset_from_uri("/tmp/x/y.csv") == file_dataset("/tmp/x/y.csv")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("://", "scheme"),
        ("://host/path", "scheme"),
        ("1abc://host/path", "scheme"),
        ("a b://host/path", "scheme"),
        ("s3://", "bucket"),
        ("s3:///key", "bucket"),
        ("gs://", "bucket"),
        ("s3://my bucket/key", "host"),
        ("s3://bu<ck>et/key", "host"),
        ("postgres://host:99999/db.s.t", "port"),
        ("postgres://host:0/db.s.t", "port"),
        ("postgres://host:abc/db.s.t", "port"),
        ("postgres://[zz::1/db.s.t", "host"),
        ("postgres://host", "database"),
        ("mysql://host/", "database"),
        ("file:", "path"),
        ("file://", "path"),
        ("file:///tmp/a%00b", "NUL"),
        ("sqlite:////abs/path/db.sqlite/table", "sqlalchemy_namespace"),
        ("sqlite+pysqlite:///rel.db", "table_dataset"),
    ],
)
def test_dataset_from_uri_rejects(uri: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataset_from_uri(uri)


def test_dataset_from_uri_sqlite_message_explains_namespace_and_name() -> None:
    with pytest.raises(ValueError) as info:
        dataset_from_uri("sqlite:////abs/path/db.sqlite/table")
    text = str(info.value)
    assert "DatasetName(sqlalchemy_namespace(" in text
    assert "table_dataset(" in text


def test_dataset_from_uri_error_message_is_redacted_and_short() -> None:
    uri = "postgres://admin:S3CR3Tpw@host:notaport/db.s.t?password=S3CR3Tq" + "x" * LONG
    with pytest.raises(ValueError) as info:
        dataset_from_uri(uri)
    assert "S3CR3T" not in str(info.value)
    assert len(str(info.value)) < 400


def test_dataset_from_uri_rejects_non_strings() -> None:
    with pytest.raises(TypeError):
        dataset_from_uri(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        dataset_from_uri(42)  # type: ignore[arg-type]


def test_dataset_from_uri_very_long() -> None:
    key = "k" * LONG
    assert dataset_from_uri(f"s3://bucket/{key}") == DatasetName("s3://bucket", key)
    assert dataset_from_uri("/" + key).name == "/" + key
    with pytest.raises(ValueError):
        dataset_from_uri("://" * LONG)
    with pytest.raises(ValueError):
        dataset_from_uri("1" * LONG + "://host/p")


# --- strip_credentials -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://user:password@host:5432/db", "postgresql://host:5432/db"),
        ("postgresql+psycopg://user@host/db", "postgresql+psycopg://host/db"),
        ("postgres://u:p%40ss@host/db", "postgres://host/db"),
        ("postgres://u:p@ss@host/db", "postgres://host/db"),
        ("postgres://u:pa/ss@host/db", "postgres://host/db"),
        ("postgres://u:pa?ss@host/db", "postgres://host/db"),
        ("postgres://u:pa#ss@host/db", "postgres://host/db"),
        ("s3://AKIAEXAMPLE:wJalr/K7MDENG+bPxRfi@bucket/key", "s3://bucket/key"),
        ("HTTPS://User:Pw@Example.com/A?b=1", "HTTPS://Example.com/A?b=1"),
        ("https://user:pw@[::1]:8080/x", "https://[::1]:8080/x"),
        ("https://host:8080/users/me@example.com", "https://host:8080/users/me@example.com"),
        ("s3://bucket/file@2x.png", "s3://bucket/file@2x.png"),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20240101"
            "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
            "&X-Amz-Security-Token=FwoG&X-Amz-Signature=abc123",
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20240101T000000Z"
            "&X-Amz-Expires=3600",
        ),
        (
            "https://acct.blob.core.windows.net/c/b.csv?sv=2022-11-02&ss=b&sp=r&se=2030-01-01&sig=abc%2Bdef%3D",
            "https://acct.blob.core.windows.net/c/b.csv?sv=2022-11-02&ss=b&sp=r&se=2030-01-01",
        ),
        (
            "https://h/p?a=1&access_token=t&b=2&api_key=k&c=3&PASSWORD=x&pwd=y&passwd=z&client_secret=s&d=4",
            "https://h/p?a=1&b=2&c=3&d=4",
        ),
        ("https://h/p?Auth=x&credentials=y&sas=z&SIG=w&keep=1", "https://h/p?keep=1"),
        ("https://h/p?X%2DAmz%2DSignature=abc&z=1", "https://h/p?z=1"),
        ("https://h/p?token=only", "https://h/p"),
        ("https://h/p?token", "https://h/p"),
        ("https://h/p?", "https://h/p"),
        ("https://h/p?a=1&&b=2", "https://h/p?a=1&&b=2"),
        ("https://h/p#access_token=abc&state=1", "https://h/p#state=1"),
        ("https://h/p#section-2", "https://h/p#section-2"),
        ("https://h/?next=https%3A%2F%2Fu%3Apw%40x.com%2F&q=1", "https://h/?next=https://x.com/&q=1"),
        (
            "mssql+pyodbc:///?odbc_connect=DRIVER%3D%7Bx%7D%3BSERVER%3Dh%3BPWD%3Dsecret%3B",
            "mssql+pyodbc:///?odbc_connect=DRIVER=%7Bx%7D;SERVER=h;PWD=***;",
        ),
        ("jdbc:sqlserver://h:1433;databaseName=d;password=x", "jdbc:sqlserver://h:1433;databaseName=d;password=***"),
        ("jdbc:mysql://u:p@h/db", "jdbc:mysql://h/db"),
        ("abfss://container@acct.dfs.core.windows.net/p", "abfss://container@acct.dfs.core.windows.net/p"),
        ("abfss://c@acct.dfs.core.windows.net/p?sv=2020&sig=x", "abfss://c@acct.dfs.core.windows.net/p?sv=2020"),
        ("wasbs://key:secret@acct.blob.core.windows.net/p", "wasbs://acct.blob.core.windows.net/p"),
        ("abfss://key:secret@c@acct.dfs.core.windows.net/p", "abfss://acct.dfs.core.windows.net/p"),
        ("  postgres://u:p@h/db\n", "  postgres://h/db\n"),
        ("://u:p@h/x", "://h/x"),
        ("s3://bucket/key", "s3://bucket/key"),
        ("https://example.com/a%20b?q=%E2%9C%93", "https://example.com/a%20b?q=%E2%9C%93"),
        ("https://ユーザー:パスワード@例え.jp/パス", "https://例え.jp/パス"),
    ],
)
def test_strip_credentials(url: str, expected: str) -> None:
    assert strip_credentials(url) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "://",
        ":",
        "/just/a/path",
        "relative/path.csv",
        "not a url at all",
        "mailto:someone@example.com",
        "user:pass@host",  # no scheme: not a URL, left alone (use redact_secrets_in_text for text)
        "ünïcödé ✓",
        "%zz%",
        "\x00\x01",
        "a" * LONG,
    ],
)
def test_strip_credentials_leaves_non_urls_unchanged(text: str) -> None:
    assert strip_credentials(text) == text


@pytest.mark.parametrize(
    "odd",
    [
        "://" * 1000,
        "s3://" + "@" * 1000,
        "https://[" + ":" * 1000,
        "https://h:" + "9" * 1000 + "/p",
        "https://h/?" + "&" * 1000 + "=" * 1000,
        "https://h/?" + "a=https://b/?" * 200,
        "https://%zz:%zz@%zz/%zz?%zz=%zz#%zz",
        "https://\ud800:\udfff@h/\ud800",  # lone surrogates
        "x://" + "\x00" * 100,
        "a:" * 1000 + "//",
        "https://u:" + "/" * 1000 + "@h",
    ],
)
def test_strip_credentials_never_raises(odd: str) -> None:
    out = strip_credentials(odd)
    assert isinstance(out, str)


@pytest.mark.parametrize("value", [None, 42, b"https://u:p@h/", ["https://u:p@h"]])
def test_strip_credentials_returns_non_strings_unchanged(value: object) -> None:
    assert strip_credentials(value) is value  # type: ignore[arg-type]


def test_strip_credentials_very_long() -> None:
    path = "p" * LONG
    assert strip_credentials(f"https://u:S3CR3T@h/{path}?token=S3CR3T&k2=v") == f"https://h/{path}?k2=v"
    nested = "https://h/?next=" + "https%3A%2F%2F" * 50 + "u%3AS3CR3T%40x"
    assert "S3CR3T" not in strip_credentials(nested)


def test_strip_credentials_is_idempotent() -> None:
    url = "https://u:p@h/p?a=1&token=t&b=2;password=x"
    once = strip_credentials(url)
    assert strip_credentials(once) == once


# --- sqlalchemy_namespace ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "namespace"),
    [
        ("postgresql+psycopg://u:p@h:5432/db", "postgres://h:5432"),
        ("postgresql://u:p@H/db", "postgres://h:5432"),
        ("postgresql+asyncpg://h:6000/db", "postgres://h:6000"),
        ("postgres://h/db", "postgres://h:5432"),
        ("postgresql://u:p@/db?host=/var/run/postgresql", "postgres://localhost:5432"),
        ("postgresql:///db?host=db1:5433,db2:5434", "postgres://db1:5433"),
        ("postgresql:///db?host=db1&port=6432", "postgres://db1:6432"),
        ("postgresql:///db", "postgres://localhost:5432"),
        ("mysql+pymysql://u:p@h/db", "mysql://h:3306"),
        ("mysql+mysqldb://u:p@h:3307/db?charset=utf8mb4", "mysql://h:3307"),
        ("mariadb+mariadbconnector://u:p@h/db", "mariadb://h:3306"),
        ("mssql+pyodbc://u:p@sqlhost/db?driver=ODBC+Driver+18", "mssql://sqlhost:1433"),
        ("oracle+oracledb://u:p@Ora:1522/?service_name=x", "oracle://ora:1522"),
        ("snowflake://u:p@account/db/schema", "snowflake://account"),
        ("trino://u@coordinator/catalog", "trino://coordinator:8080"),
        ("sqlite:////abs.db", "sqlite:///abs.db"),
        ("sqlite:////abs/dir/../x.db", "sqlite:///abs/x.db"),
        ("sqlite+pysqlite:////abs.db?timeout=5", "sqlite:///abs.db"),
        ("sqlite:////abs/my%20db.sqlite", "sqlite:///abs/my db.sqlite"),
        ("sqlite://", "sqlite://:memory:"),
        ("sqlite:///:memory:", "sqlite://:memory:"),
        ("sqlite+aiosqlite:///:memory:", "sqlite://:memory:"),
        ("sqlite:///file::memory:?uri=true", "sqlite://:memory:"),
        ("sqlite:///file:x.db?mode=memory&uri=true", "sqlite://:memory:"),
        ("sqlite:///file:///abs/y.db?mode=ro&uri=true", "sqlite:///abs/y.db"),
    ],
)
def test_sqlalchemy_namespace(url: str, namespace: str) -> None:
    assert sqlalchemy_namespace(url) == namespace


def test_sqlalchemy_namespace_sqlite_relative(in_tmp: str) -> None:
    assert sqlalchemy_namespace("sqlite:///relative.db") == "sqlite://" + os.path.join(in_tmp, "relative.db")
    assert sqlalchemy_namespace("sqlite:///sub/../rel.db") == "sqlite://" + os.path.join(in_tmp, "rel.db")


def test_sqlalchemy_namespace_sqlite_matches_sqlalchemy_database_path(in_tmp: str) -> None:
    # The namespace is sqlite:// followed by the absolute path of the file SQLAlchemy opens.
    from sqlalchemy.engine import make_url

    for url in ("sqlite:///relative.db", "sqlite:///abs/x.db", "sqlite:///a%20b.db"):
        assert sqlalchemy_namespace(url) == "sqlite://" + os.path.abspath(make_url(url).database)


@pytest.mark.parametrize("url", ["", "   ", "://", "nohost", "/abs/path.db", "1x://h/db", "postgresql://h:x/db"])
def test_sqlalchemy_namespace_rejects(url: str) -> None:
    with pytest.raises(ValueError):
        sqlalchemy_namespace(url)


# --- table_dataset -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "table", "schema", "expected"),
    [
        ("postgresql+psycopg://u:p@h:5432/db", "t", None, DatasetName("postgres://h:5432", "db.public.t")),
        ("postgresql://h/db", "t", "sales", DatasetName("postgres://h:5432", "db.sales.t")),
        ("postgresql://h/db", "sales.t", None, DatasetName("postgres://h:5432", "db.sales.t")),
        ("postgresql://h/my%20db", "t", "", DatasetName("postgres://h:5432", "my db.public.t")),
        ("mysql+pymysql://u:p@h/db", "t", None, DatasetName("mysql://h:3306", "db.t")),
        ("mysql+pymysql://u:p@h/db", "t", "otherdb", DatasetName("mysql://h:3306", "otherdb.t")),
        ("mysql://h/db", "db2.t", None, DatasetName("mysql://h:3306", "db2.t")),
        ("sqlite:////abs.db", "t", None, DatasetName("sqlite:///abs.db", "t")),
        ("sqlite:////abs.db", "t", "main", DatasetName("sqlite:///abs.db", "t")),
        ("sqlite:////abs.db", "t", "aux", DatasetName("sqlite:///abs.db", "aux.t")),
        ("sqlite://", "t", None, DatasetName("sqlite://:memory:", "t")),
        ("mssql+pyodbc://u:p@h/db", "t", "dbo", DatasetName("mssql://h:1433", "db.dbo.t")),
        ("mssql+pyodbc://u:p@h/db", "t", None, DatasetName("mssql://h:1433", "db.t")),
        ("snowflake://u:p@acct/", "t", "s", DatasetName("snowflake://acct", "s.t")),
        ("trino://h:8081/", "t", None, DatasetName("trino://h:8081", "t")),
    ],
)
def test_table_dataset(url: str, table: str, schema: str | None, expected: DatasetName) -> None:
    assert table_dataset(url, table, schema) == expected


def test_table_dataset_sqlite_relative(in_tmp: str) -> None:
    assert table_dataset("sqlite:///rel.db", "t") == DatasetName("sqlite://" + os.path.join(in_tmp, "rel.db"), "t")


@pytest.mark.parametrize(("url", "table"), [("postgresql://h/db", ""), ("postgresql://h/db", "  "), ("", "t")])
def test_table_dataset_rejects(url: str, table: str) -> None:
    with pytest.raises(ValueError):
        table_dataset(url, table)


# --- redact_secrets_in_text --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "could not connect to postgresql://bob:hunter2@db:5432/x: timeout",
            "could not connect to postgresql://db:5432/x: timeout",
        ),
        (
            "SELECT * FROM dblink('postgresql://u:p@h/db', 'select 1')",
            "SELECT * FROM dblink('postgresql://h/db', 'select 1')",
        ),
        ('url="mysql+pymysql://root:toor@localhost/db"', 'url="mysql+pymysql://localhost/db"'),
        ("(see https://u:p@h/x?token=1).", "(see https://h/x)."),
        ("a https://u:p@h/ b s3://k:s@bucket/key c", "a https://h/ b s3://bucket/key c"),
        ("GET https://b.s3.amazonaws.com/k?X-Amz-Signature=abc&x=1", "GET https://b.s3.amazonaws.com/k?x=1"),
        ("DRIVER={ODBC Driver 18};SERVER=h;UID=u;PWD=hunter2;", "DRIVER={ODBC Driver 18};SERVER=h;UID=u;PWD=***;"),
        ("Server=h;Uid=u;Pwd={a;b}}c};Encrypt=yes", "Server=h;Uid=u;Pwd=***;Encrypt=yes"),
        ("Server=h;Password = hunter2 ;Database=d", "Server=h;Password=*** ;Database=d"),
        ("host=h password='a b' user=u", "host=h password=*** user=u"),
        ("host=h password=hunter2 dbname=d", "host=h password=*** dbname=d"),
        ("PGPASSWORD=hunter2 psql", "PGPASSWORD=*** psql"),
        ("aws_secret_access_key=ab/cd+ef", "aws_secret_access_key=***"),
        ("api_key=abc&x=1", "api_key=***&x=1"),
        ("{'password': 'hunter2', 'user': 'u'}", "{'password': '***', 'user': 'u'}"),
        ('{"token": "abc", "n": 1}', '{"token": "***", "n": 1}'),
        ("CREATE USER x IDENTIFIED BY 'pw';", "CREATE USER x IDENTIFIED BY '***';"),
        ("ALTER ROLE r WITH PASSWORD 'p''w' VALID UNTIL 'x'", "ALTER ROLE r WITH PASSWORD '***' VALID UNTIL 'x'"),
        ("Authorization: Bearer abc.def-ghi_jkl", "Authorization: Bearer ***"),
        # nothing secret: unchanged
        ("SELECT token_count, key_id FROM t WHERE x = 1", "SELECT token_count, key_id FROM t WHERE x = 1"),
        ("see https://example.com/docs?page=2 for more", "see https://example.com/docs?page=2 for more"),
        ("", ""),
        ("://", "://"),
        ("plain text ✓ ünïcode", "plain text ✓ ünïcode"),
    ],
)
def test_redact_secrets_in_text(text: str, expected: str) -> None:
    assert redact_secrets_in_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "://" * LONG,
        "a" * LONG + "://u:S3CR3T@h",
        "password=" * (LONG // 9),
        "'" * LONG,
        "{" * LONG,
        "token" * (LONG // 5),
        "a:" * LONG + "//",
        "https://h/?" + "a=1&" * (LONG // 4),
    ],
)
def test_redact_secrets_in_text_hostile(text: str) -> None:
    out = redact_secrets_in_text(text)
    assert isinstance(out, str)
    assert "S3CR3T" not in out


def test_redact_secrets_in_text_non_strings() -> None:
    assert redact_secrets_in_text(None) is None  # type: ignore[arg-type]


# --- secrets never come out: property tests ----------------------------------------------------------------

# Hosts and paths are drawn from alphabets without "s", "r" or "t", so they can never spell "s3cr3t":
# whatever "s3cr3t" an output holds came from a secret.
MARK = "s3cr3t"
_hosts = st.from_regex(r"[a-h0-9]([a-h0-9\-]{0,10}[a-h0-9])?(\.[a-h0-9]{1,8}){0,2}", fullmatch=True)
_paths = st.from_regex(r"[a-h0-9_\-]{1,10}(/[a-h0-9_.\-]{1,10}){0,3}", fullmatch=True)
_ports = st.none() | st.integers(min_value=1, max_value=65535)
_any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
# Whitespace and quotes end a URL inside free text, so a raw password cannot hold them.
_NOT_IN_RAW = ("Cs", "Zs", "Zl", "Zp", "Cc")
_QUOTES = "'\"<>`"
# Raw (not percent-encoded) passwords: either no "@", or an "@" but no "/?#" (both read unambiguously).
_raw_password = st.one_of(
    st.text(st.characters(exclude_categories=_NOT_IN_RAW, exclude_characters="@" + _QUOTES), max_size=20),
    st.text(st.characters(exclude_categories=_NOT_IN_RAW, exclude_characters="/?#" + _QUOTES), max_size=20),
)
_server_schemes = st.sampled_from(
    ["postgresql", "postgresql+psycopg", "postgres", "mysql+pymysql", "mysql", "mssql+pyodbc", "oracle+oracledb"]
)
_uri_schemes = st.sampled_from(
    ["s3", "s3a", "gs", "abfss", "postgresql+psycopg", "postgres", "mysql", "https", "http", "kafka", "hdfs", "ftp"]
)
_secret_params = st.sampled_from(
    [
        "X-Amz-Signature",
        "X-Amz-Credential",
        "X-Amz-Security-Token",
        "access_token",
        "api_key",
        "apiKey",
        "sig",
        "password",
        "PWD",
        "client_secret",
        "Token",
        "auth",
        "sas_token",
        "X-Goog-Signature",
    ]
)


def _authority(host: str, port: int | None) -> str:
    return host if port is None else f"{host}:{port}"


def _assert_no_secret(*outputs: object) -> None:
    for out in outputs:
        assert MARK not in str(out).lower(), out


def _all_outputs(url: str) -> list[object]:
    """Every function's output for ``url``; a ValueError's message counts as output too."""
    outputs: list[object] = [strip_credentials(url), redact_secrets_in_text(f"error: cannot open {url} now")]
    for call in (dataset_from_uri, sqlalchemy_namespace, lambda u: table_dataset(u, "t", "s")):
        try:
            outputs.append(call(url))
        except ValueError as error:
            outputs.append(error)
    return outputs


_settings = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(
    scheme=_uri_schemes | _server_schemes,
    user=_any_text,
    password=_any_text,
    host=_hosts,
    port=_ports,
    path=_paths,
)
def test_encoded_userinfo_never_leaks(
    scheme: str, user: str, password: str, host: str, port: int | None, path: str
) -> None:
    user = quote("S3CR3T" + user, safe="")
    password = quote("S3CR3T" + password, safe="")
    url = f"{scheme}://{user}:{password}@{_authority(host, port)}/{path}"
    outputs = _all_outputs(url)
    _assert_no_secret(*outputs)
    assert strip_credentials(url) == f"{scheme}://{_authority(host, port)}/{path}"


@_settings
@given(scheme=_uri_schemes | _server_schemes, password=_raw_password, host=_hosts, port=_ports, path=_paths)
def test_raw_password_never_leaks(scheme: str, password: str, host: str, port: int | None, path: str) -> None:
    url = f"{scheme}://user:S3CR3T{password}@{_authority(host, port)}/{path}"
    _assert_no_secret(*_all_outputs(url))
    assert strip_credentials(url) == f"{scheme}://{_authority(host, port)}/{path}"


@_settings
@given(
    scheme=_uri_schemes,
    host=_hosts,
    path=_paths,
    param=_secret_params,
    token=_any_text,
    before=st.booleans(),
)
def test_secret_query_parameters_never_leak(
    scheme: str, host: str, path: str, param: str, token: str, before: bool
) -> None:
    secret = f"{param}={quote('S3CR3T' + token, safe='')}"
    query = f"{secret}&keep=1" if before else f"keep=1&{secret}&also=2"
    url = f"{scheme}://{host}/{path}?{query}"
    _assert_no_secret(*_all_outputs(url))
    stripped = strip_credentials(url)
    assert stripped == f"{scheme}://{host}/{path}?" + ("keep=1" if before else "keep=1&also=2")


@_settings
@given(host=_hosts, user=st.from_regex(r"[a-h]{1,8}", fullmatch=True), password=_any_text)
def test_connection_string_passwords_never_leak(host: str, user: str, password: str) -> None:
    secret = "S3CR3T" + password
    braced = "{" + secret.replace("}", "}}") + "}"
    odbc = f"DRIVER={{ODBC Driver 18}};SERVER={host};UID={user};PWD={braced};Encrypt=yes"
    out = redact_secrets_in_text(odbc)
    _assert_no_secret(out)
    assert out == f"DRIVER={{ODBC Driver 18}};SERVER={host};UID={user};PWD=***;Encrypt=yes"
    quoted = "'" + secret.replace("\\", "\\\\").replace("'", "\\'") + "'"
    _assert_no_secret(redact_secrets_in_text(f"host={host} user={user} password={quoted} dbname=d"))


@_settings
@given(
    scheme=_server_schemes,
    password=_any_text,
    host=_hosts,
    port=_ports,
    sql=st.sampled_from(["SELECT * FROM t", "INSERT INTO t VALUES (1)", ""]),
)
def test_urls_inside_text_never_leak(scheme: str, password: str, host: str, port: int | None, sql: str) -> None:
    url = f"{scheme}://admin:{quote('S3CR3T' + password, safe='')}@{_authority(host, port)}/db"
    for text in (f"{sql} -- via {url}", f"failed: ({url}), retrying", f"conn='{url}'", f'"{url}"'):
        out = redact_secrets_in_text(text)
        _assert_no_secret(out)
        assert f"{scheme}://{_authority(host, port)}/db" in out


@_settings
@given(text=st.text(max_size=200))
def test_arbitrary_text_never_raises(text: str) -> None:
    assert isinstance(strip_credentials(text), str)
    assert isinstance(redact_secrets_in_text(text), str)
    for call in (dataset_from_uri, sqlalchemy_namespace):
        try:
            result = call(text)
        except ValueError:
            continue
        assert result


def test_duckdb_tables_are_named_by_their_database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nblineage.lineage.naming import duckdb_table_dataset

    monkeypatch.chdir(tmp_path)
    assert duckdb_table_dataset("shop.duckdb", "orders") == DatasetName(f"duckdb://{tmp_path}/shop.duckdb", "orders")
    assert duckdb_table_dataset(str(tmp_path / "shop.duckdb"), "t", "main").name == "t"
    assert duckdb_table_dataset("shop.duckdb", "t", "staging").name == "staging.t"
    assert duckdb_table_dataset(":memory:", "t").namespace == duckdb_table_dataset(None, "t").namespace
    assert duckdb_table_dataset(None, "t").namespace == "duckdb://:memory:"
    with pytest.raises(ValueError):
        duckdb_table_dataset("shop.duckdb", " ")
