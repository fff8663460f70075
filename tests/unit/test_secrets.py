"""Masking credentials in text: URIs, query strings, DSNs, property lists, known values."""

from __future__ import annotations

import pytest

from sqllake import secrets
from sqllake.secrets import MASK, is_secret_key, mask, mask_at, mask_properties


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # URIs of several shapes
        (
            "postgresql+psycopg://user:secret@host/db",
            "postgresql+psycopg://user:***@host/db",
        ),
        (
            "cannot open postgresql://postgres:hunter2@127.0.0.1:5432/x: refused",
            "cannot open postgresql://postgres:***@127.0.0.1:5432/x: refused",
        ),
        ("redis://:s3cr3t@cache:6379/0", "redis://:***@cache:6379/0"),
        ("mysql://u:p%40ss@db/x", "mysql://u:***@db/x"),
        ("postgresql://u:p@ss@host/db", "postgresql://u:***@host/db"),  # an unencoded @
        ("postgresql://[::1]/db", "postgresql://[::1]/db"),
        (
            'No files found that match the pattern "ftp://u:hunter2@host/x.csv"',
            'No files found that match the pattern "ftp://u:***@host/x.csv"',
        ),
        ("got: u:hunter2@host", "got: u:***@host"),  # user info quoted without its scheme
        ("https://user@host/x", "https://user@host/x"),  # no password
        # query strings
        (
            "postgresql://u@h/db?sslmode=require&password=hunter2",
            "postgresql://u@h/db?sslmode=require&password=***",
        ),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600"
            "&X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLE&X-Amz-Signature=0123abcd",
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=***&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600"
            "&X-Amz-Security-Token=***&X-Amz-Signature=***",
        ),
        (
            "https://acct.blob.core.windows.net/c/f?sv=2022-11-02&sp=r&sig=abc%2Bdef%3D",
            "https://acct.blob.core.windows.net/c/f?sv=2022-11-02&sp=r&sig=***",
        ),
        # libpq's DSN key=value form
        ("host=db port=5432 password=hunter2 dbname=x", "host=db port=5432 password=*** dbname=x"),
        ("host=db password='two words' user=u", "host=db password='***' user=u"),
        ("sslpassword = hunter2", "sslpassword = ***"),
        # connection strings, dict reprs, SQL property lists, bearer tokens
        (
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=abc123==;EndpointSuffix=x",
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=***;EndpointSuffix=x",
        ),
        (
            "{'s3.secret-access-key': 'abc', 's3.endpoint': 'http://minio:9000'}",
            "{'s3.secret-access-key': '***', 's3.endpoint': 'http://minio:9000'}",
        ),
        ('{"token": "eyJhbGci.x.y"}', '{"token": "***"}'),
        ("'s3.access-key-id' = 'AKIAEXAMPLE'", "'s3.access-key-id' = '***'"),
        ("'owner' = 'it''s ops'", "'owner' = 'it''s ops'"),
        ("Authorization: Bearer eyJhbGciOi.abc.def", "Authorization: Bearer ***"),
    ],
)
def test_mask(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Could not convert string 'x' to INT32",
        'Referenced column "password" not found',
        "table default.t does not exist",
        "time 10:30 @ noon, mail a@b.c",
        "Invalid token at line 1: SELECT",
        "write.target-file-size-bytes = 134217728",
        "",
    ],
)
def test_text_without_credentials_is_unchanged(text: str) -> None:
    assert mask(text) == text


@pytest.mark.parametrize(
    "name",
    [
        "s3.secret-access-key",
        "s3.session-token",
        "s3.access-key-id",
        "client.secret-access-key",
        "gcs.oauth2.token",
        "adls.account-key",
        "adls.sas-token",
        "adls.client-secret",
        "adls.connection-string",
        "token",
        "credential",
        "client.secret",
        "hf.token",
        "password",
        "AWS_SECRET_ACCESS_KEY",
        "AccountKey",
        "X-Amz-Signature",
    ],
)
def test_credential_names(name: str) -> None:
    assert is_secret_key(name)


@pytest.mark.parametrize(
    "name",
    [
        "s3.endpoint",
        "s3.region",
        "s3.sse-kms-key-id",
        "owner",
        "format-version",
        "write.parquet.compression-codec",
        "write.inline.rows",
        "comment",
        "tokenizer.name",
    ],
)
def test_other_names(name: str) -> None:
    assert not is_secret_key(name)


def test_mask_properties_masks_credentials_whole_and_urls_in_others() -> None:
    shown = mask_properties(
        {
            "s3.secret-access-key": "abc",
            "owner": "ops",
            "source": "postgresql://etl:hunter2@db/x",
        }
    )
    assert shown == {
        "s3.secret-access-key": MASK,
        "owner": "ops",
        "source": "postgresql://etl:***@db/x",
    }


def test_values_of_credential_variables_are_masked_anywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2Vj")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")  # not a credential
    text = "signing with wJalrXUtnFEMI failed (token IQOJB3JPZ2LUX2VJ) in eu-west-1"
    assert mask(text) == "signing with *** failed (token ***) in eu-west-1"


def test_remembered_values_are_masked_and_short_ones_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(secrets, "_remembered", frozenset())
    secrets.remember(["k7Hq9pZr", "abc", None])
    assert mask("echo k7Hq9pZr and abc") == "echo *** and abc"


def test_remember_uri_keeps_the_password_decoded_and_as_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(secrets, "_remembered", frozenset())
    secrets.remember_uri("postgresql+psycopg://u:pa%2Fss99@h/db")
    secrets.remember_uri("postgresql+psycopg://u:x@h:notaport/db")  # unparsable: ignored
    assert mask("FATAL: pa/ss99 or pa%2Fss99") == "FATAL: *** or ***"


def test_remember_properties_keeps_only_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_remembered", frozenset())
    secrets.remember_properties({"credential": "client:Zx81kQ", "uri": "https://rest.example"})
    assert mask("auth client:Zx81kQ at https://rest.example") == "auth *** at https://rest.example"


def test_mask_at_moves_an_offset_past_masked_values() -> None:
    line = "SELECT * FROM read_csv('ftp://u:hunter2@h/x.csv') WHERE nope"
    masked, offset = mask_at(line, line.index("nope"))
    assert masked == "SELECT * FROM read_csv('ftp://u:***@h/x.csv') WHERE nope"
    assert masked[offset:] == "nope"
    # before the secret: unchanged; inside it: the start of the mask
    assert mask_at(line, 5)[1] == 5
    inside = line.index("hunter2") + 3
    masked, offset = mask_at(line, inside)
    assert masked[offset:].startswith(MASK)


def test_scrub_masks_the_whole_exception_chain() -> None:
    try:
        try:
            raise OSError("connect ftp://u:hunter2@h/x failed")
        except OSError as inner:
            raise RuntimeError("postgresql://u:hunter2@h/db") from inner
    except RuntimeError as outer:
        secrets.scrub(outer)
        assert str(outer) == "postgresql://u:***@h/db"
        assert outer.__cause__ is not None
        assert "hunter2" not in str(outer.__cause__)
