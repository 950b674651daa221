"""Credentials in incoming events never reach the store."""

from __future__ import annotations

import json

import pytest
from events import run_event

from nblineage.lineage.events import canonical_json, check
from nblineage.lineage.redact import MASK, is_secret_key, json_may_hold_secrets, may_hold_secrets, redact, redact_text
from nblineage.lineage.store import Store

SECRET = "S3CR3T-hunter2"


def leaky_event() -> dict:
    event = run_event(
        ("airflow", "load"),
        [(f"postgres://etl:{SECRET}@db.internal:5432", "warehouse.public.orders")],
        [("s3://bucket", f"out.csv?X-Amz-Signature={SECRET}&versionId=3")],
    )
    event["run"]["facets"] = {
        "environmentVariables": {
            "_producer": "t",
            "_schemaURL": "t",
            "environmentVariables": [
                {"name": "AWS_SECRET_ACCESS_KEY", "value": SECRET},
                {"name": "PATH", "value": "/usr/bin"},
            ],
        }
    }
    event["job"]["facets"] = {
        "sql": {"_producer": "t", "_schemaURL": "t", "query": f"CREATE USER bob WITH PASSWORD '{SECRET}'"},
        "custom": {"_producer": "t", "_schemaURL": "t", "apiToken": SECRET, "tokenizer": "bert", "keep": [1, 2]},
    }
    event["inputs"][0]["facets"] = {
        "dataSource": {"_producer": "t", "_schemaURL": "t", "name": "db", "uri": f"postgres://etl:{SECRET}@db:5432/w"}
    }
    return event


def test_no_secret_survives_check() -> None:
    event = check(leaky_event())
    text = json.dumps(event.payload)
    assert SECRET not in text
    assert event.payload["inputs"][0]["namespace"] == "postgres://db.internal:5432"
    assert event.payload["outputs"][0]["name"].endswith("versionId=3")
    variables = event.payload["run"]["facets"]["environmentVariables"]["environmentVariables"]
    assert variables == [{"name": "AWS_SECRET_ACCESS_KEY", "value": MASK}, {"name": "PATH", "value": "/usr/bin"}]
    custom = event.payload["job"]["facets"]["custom"]
    assert custom["apiToken"] == MASK and custom["tokenizer"] == "bert" and custom["keep"] == [1, 2]


def test_no_secret_reaches_the_store(store: Store) -> None:
    store.append([check(leaky_event())])
    with store.read() as conn:
        for table in ("events", "datasets", "facets", "jobs"):
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}"):
                assert SECRET not in " ".join(map(str, row)), table


def test_events_without_secrets_are_unchanged() -> None:
    event = run_event(("jupyter", "a.ipynb#c"), [("file", "/d/tokens.csv", "v1")], [("s3://b", "k")])
    assert check(json.loads(json.dumps(event))).payload == event
    assert redact(event) == event


def test_secret_key_names() -> None:
    for name in ("password", "DB_PASSWORD", "accessToken", "AWS_SECRET_ACCESS_KEY", "api-key", "Authorization"):
        assert is_secret_key(name), name
    for name in ("tokenizer", "numTokens", "primaryKey", "passage", "name", "keywords"):
        assert not is_secret_key(name), name


# ---------------------------------------------------------------------------------------------------- corpus

# Real shapes of secrets (made-up values), each in the text it typically comes in. Every value is unique, so that
# finding it anywhere after redaction is a leak.
AWS_ID = "AKIAZ7Q2M4X8R1T5W3Y6"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8rT2mW5a"
AWS_SESSION = "FwoGZXIvYXdzEBYaDHqa0AP1Bz9MGk3NyLZAQ2xR8w7kq3m"
PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"
GITHUB = "ghp_8fK2mQ9xL4vR7tY1wZ3nB6cD0eH5jA2sP9uV"
GITHUB_FINE = "github_pat_11ABCDEFG0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789abcdefGHIJKLMNOPQRSTU"
GITLAB = "glpat-xY7zK2mQ9vL4rT1wN8bC"
SLACK = "xoxb-2048137296-4127630584-kQz9Xv2LmR7tY1wN3bC8dE5f"
SLACK_HOOK = "T02ABCDEF/B03GHIJKL/Zx8Yw7Vu6Ts5Rq4Po3Nm2Lk1"
OPENAI = "sk-proj-Q8xW2eR4tY6uI8oP0aS2dF4gH6jK8lZ1xC3vB5nM7"
OPENAI_OLD = "sk-4fT9kQ2mX8vL1rW7yZ3nB6cD0eH5jA2sP9uVtG1h"
STRIPE = "sk_live_51HqT7x2LmQ9vR4tY1wN8bC3d"
GOOGLE = "AIzaSyD3fK9mQ2xL7vR4tY1wZ8nB6cD0eH5jA2s"
HUGGING = "hf_kQz9Xv2LmR7tY1wN3bC8dE5fG4hJ6kL0pA"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
AZURE_KEY = "Zx8Yw7Vu6Ts5Rq4Po3Nm2Lk1Jh0Gf9Ed8Cb7Aa6Zz5Yy4Xx3Ww2Vv1Uu0Tt9Ss8Rr7Qq6Pp5Oo4Nn3Mm2Ll1Kk0Jj9Ii8Hh7Gg=="
DB_PASSWORD = "Tr0ub4dor&3-horse"
NETRC_PASSWORD = "n3trc-s3cr3t-pw"
BASIC = "YWxhZGRpbjpvcGVuc2VzYW1l"
ENV_VALUE = "env-s3cr3t-value-42"
DEFAULT_VALUE = "default-s3cr3t-77"
VARIABLE_VALUE = "var1able-s3cr3t-99"
ANNOTATED_VALUE = "ann0tated-s3cr3t-11"
DOLLAR_VALUE = "d0llar-quoted-s3cr3t"
E_VALUE = "e-str1ng-s3cr3t"
REQUESTS_VALUE = "requests-pa55word"
URL_VAR_VALUE = "fstr1ng-pa55"

CORPUS = {
    "aws environment": f'os.environ["AWS_ACCESS_KEY_ID"] = "{AWS_ID}"\nos.environ["AWS_SECRET_ACCESS_KEY"] = '
    f'"{AWS_SECRET}"\nos.environ["AWS_SESSION_TOKEN"] = "{AWS_SESSION}"',
    "aws credentials file": f"[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n",
    "boto3 client": f's3 = boto3.client("s3", aws_access_key_id="{AWS_ID}", aws_secret_access_key="{AWS_SECRET}")',
    "setdefault": f'os.environ.setdefault("OPENAI_API_KEY", "{DEFAULT_VALUE}")\nos.environ.setdefault("X", "keep")',
    "environ subscript": f'os.environ["MY_SERVICE_PASSWORD"] = "{ENV_VALUE}"',
    "variable passed as credential": f'k = "{VARIABLE_VALUE}"\nclient = Minio("h:9000", access_key="id", secret_key=k)',
    "annotated": f'db_password: str = "{ANNOTATED_VALUE}"',
    "gcp service account": json.dumps(
        {
            "type": "service_account",
            "project_id": "demo-project",
            "private_key_id": "5f1a9c",
            "private_key": f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----\n",
            "client_email": "svc@demo-project.iam.gserviceaccount.com",
        }
    ),
    "pem in code": f'key = """-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----"""',
    "azure connection string": "conn = 'DefaultEndpointsProtocol=https;AccountName=demo;"
    f"AccountKey={AZURE_KEY};EndpointSuffix=core.windows.net'",
    "github token": f"g = Github('{GITHUB}')\nother = Github(auth=Auth.Token('{GITHUB_FINE}'))",
    "gitlab token": f"gl = gitlab.Gitlab('https://gitlab.com', private_token='{GITLAB}')",
    "slack": f"client = WebClient('{SLACK}')\nurl = 'https://hooks.slack.com/services/{SLACK_HOOK}'",
    "openai": f'openai.api_key = "{OPENAI}"\nclient = OpenAI(api_key="{OPENAI_OLD}")',
    "stripe and google": f"stripe.api_key = '{STRIPE}'\nmaps = googlemaps.Client(key='{GOOGLE}')",
    "hugging face": f"login('{HUGGING}')",
    "jwt": f"headers = {{'Authorization': 'Bearer {JWT}'}}\nraw = '{JWT}'",
    "postgres dsn": f"engine = create_engine('postgresql+psycopg://etl:{DB_PASSWORD}@db.internal:5432/warehouse')",
    "libpq keywords": f"psycopg.connect('host=db user=etl password={DB_PASSWORD} dbname=w')",
    "odbc": f"pyodbc.connect('DRIVER={{ODBC Driver 18}};SERVER=db;UID=etl;PWD={DB_PASSWORD};')",
    "dollar quoted": f'conn.execute("ALTER ROLE etl PASSWORD $${DOLLAR_VALUE}$$")',
    "tagged dollar quoted": f"conn.execute('CREATE USER a WITH PASSWORD $pw${DOLLAR_VALUE}$pw$')",
    "escape string": f"conn.execute(\"ALTER USER bob PASSWORD E'{E_VALUE}\\\\'x'\")",
    "netrc": f"machine api.example.com login bob password {NETRC_PASSWORD}\nmachine b\n  password {NETRC_PASSWORD}",
    "basic auth url": f"requests.get('https://bob:{DB_PASSWORD}@api.example.com/data.csv')",
    "basic auth header": f"headers = {{'Authorization': 'Basic {BASIC}'}}",
    "requests auth": f"requests.get(url, auth=('bob', '{REQUESTS_VALUE}'))",
    "f-string url": f'pw = "{URL_VAR_VALUE}"\nengine = create_engine(f"postgresql://etl:{{pw}}@db/w")',
}
SECRETS = [
    value
    for name, value in globals().items()
    if name.isupper() and isinstance(value, str) and name not in ("MASK", "SECRET") and len(value) >= 12
]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_secret_of_the_corpus_survives(name: str) -> None:
    text = CORPUS[name]
    assert any(secret in text for secret in SECRETS), "the case holds a secret"
    redacted = redact_text(text)
    leaked = [secret for secret in SECRETS if secret in redacted]
    assert leaked == [], redacted
    assert redact_text(redacted) == redacted  # redacting twice changes nothing (event hashes stay stable)
    assert redact({"source": text}) == {"source": redacted}


def test_code_around_the_secrets_is_kept() -> None:
    assert redact_text(CORPUS["setdefault"]) == (
        'os.environ.setdefault("OPENAI_API_KEY", \'***\')\nos.environ.setdefault("X", "keep")'
    )
    assert redact_text(CORPUS["environ subscript"]) == "os.environ[\"MY_SERVICE_PASSWORD\"] = '***'"
    assert redact_text(CORPUS["variable passed as credential"]).startswith("k = '***'\nclient = Minio(\"h:9000\"")
    assert redact_text("ALTER ROLE etl PASSWORD $$x$$; SELECT 1") == "ALTER ROLE etl PASSWORD '***'; SELECT 1"


def test_ordinary_code_is_unchanged() -> None:
    code = (
        "import pandas as pd\n"
        "df = pd.read_csv('/data/asia_sales.csv')\n"
        "tokenizer = AutoTokenizer.from_pretrained('bert-base-uncased')\n"
        "model = LogisticRegression(max_iter=200, solver='lbfgs')\n"
        "task = 'sk-learn-demo'\n"
        "key = df.columns[0]\n"
        "skip = {'a': 1, 'b': 'two'}\n"
        "version = '9f2c4e1ab37d5c60b8e2f1a4d6c8e0b2'\n"
    )
    assert redact_text(code) == code


def test_the_outbox_record_of_a_cell_holds_no_secret() -> None:
    from datetime import datetime

    from nblineage.kernel_ext.records import CellResult, cell_line

    source = "\n".join(CORPUS.values())
    now = datetime(2026, 1, 1)
    result = CellResult(
        run_id="r",
        cell_id="c",
        execution_count=1,
        source=source,
        started=now,
        ended=now,
        error=f"ValueError: bad token {GITHUB}",
        traceback=f"Traceback...\n  os.environ['AWS_SECRET_ACCESS_KEY'] = '{AWS_SECRET}'\nValueError: {OPENAI}",
    )
    line = cell_line(result, "jupyter", "/n.ipynb", "s")
    assert [secret for secret in SECRETS if secret in line] == []
    record = json.loads(line)
    assert record["source"].startswith('os.environ["AWS_ACCESS_KEY_ID"] = "***"')


def test_a_cell_record_after_clean_ones_still_holds_no_secret() -> None:
    """The outbox record is looked at with the JSON pre-filter: records of clean cells fill its memory first (the
    same keys, notebook and session), and a cell that then sets a credential is redacted all the same."""
    from datetime import datetime

    from nblineage.kernel_ext.records import CellResult, cell_line

    now = datetime(2026, 1, 1)

    def line(number: int, source: str) -> str:
        result = CellResult(str(number), f"c{number}", number, source, now, now, wall_seconds=0.5, cpu_seconds=0.5)
        return cell_line(result, "jupyter", "/n.ipynb", "s")

    for number in range(5):
        assert json.loads(line(number, f"df['f{number}'] = df.x * {number}"))["source"].startswith("df[")
    leaked = line(5, f'os.environ["AWS_SECRET_ACCESS_KEY"] = "{AWS_SECRET}"')
    assert AWS_SECRET not in leaked
    assert json.loads(leaked)["source"].startswith('os.environ["AWS_SECRET_ACCESS_KEY"] = ')


def test_the_json_prefilter_answers_as_the_full_scan() -> None:
    """``json_may_hold_secrets`` skips the parts of a JSON text it has seen clean: it must still answer exactly as
    ``may_hold_secrets`` of the whole text, for the corpus, leaky and clean events, and texts that only hold a
    marker once their parts are put together in another order."""
    clean = run_event(("jupyter", "a.ipynb#c"), [("file", "/d/orders.csv", "v1")], [("s3://b", "k")])
    texts = [canonical_json(clean), canonical_json(leaky_event())]
    texts += [canonical_json({"source": text, "other": [text[:7], text[7:]]}) for text in CORPUS.values()]
    texts += [canonical_json({"a": "pa", "b": "ss"}), canonical_json({"pa": "ss"}), canonical_json({"u": "x://a@b"})]
    texts += [canonical_json({"k": "api,", "v": ",key"}), canonical_json({"k": "x,", "token,": ',"pwd,"'})]
    texts += [canonical_json({"u": "a://b,", "v": "c@d"}), canonical_json({"u": "a://b", "v": "@d"})]
    for _ in range(2):  # the second time every clean part is known
        for text in texts:
            assert json_may_hold_secrets(text) == may_hold_secrets(text), text[:200]


def test_a_secret_beside_parts_seen_clean_is_still_removed() -> None:
    """A clean event, seen first, fills the pre-filter's memory; the same event with one value now a credential (a
    GitHub token, a password in a URL) is redacted all the same."""
    event = run_event(("airflow", "load"), [("postgres://db:5432", "orders")], [("s3://bucket", "out.csv")])
    event["job"]["facets"] = {"custom": {"_producer": "t", "_schemaURL": "t", "note": "nightly"}}
    assert check(json.loads(json.dumps(event))).payload == event
    token = "ghp_" + "a1B2c3D4e5" * 4
    event["job"]["facets"]["custom"]["note"] = token
    event["inputs"][0]["namespace"] = f"postgres://etl:{SECRET}@db:5432"
    checked = check(event)
    assert token not in checked.text and SECRET not in checked.text
    assert checked.payload["job"]["facets"]["custom"]["note"] == MASK


def test_the_prefilter_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its memory of clean parts starts again past its size; answers do not change."""
    from nblineage.lineage import redact as module

    monkeypatch.setattr(module, "_MAX_CLEAN_CHARS", 200)
    for number in range(50):
        assert not json_may_hold_secrets(canonical_json({"name": f"dataset-{number:04d}-" + "x" * 20}))
        assert module._clean_chars <= 200
    assert json_may_hold_secrets(canonical_json({"name": "dataset-0001-", "note": f"password={SECRET}"}))


def test_every_marker_holds_an_anchor() -> None:
    """``may_hold_secrets`` looks for the markers only in a text holding one of its anchors: each word and marker
    must hold one, or a text with only that marker would pass unseen."""
    from nblineage.lineage import redact as module

    for marker in module._WORDS + module._SHAPE_MARKERS:
        assert any(anchor in marker for anchor in module._ANCHORS), marker
        assert may_hold_secrets(f"x {marker.upper()} y") and may_hold_secrets(f"x{marker}y"), marker
