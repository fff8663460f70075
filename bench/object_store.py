"""The S3 server of the object-storage cases: SeaweedFS, as the tests start it."""

from __future__ import annotations

from tests.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY
from tests.seaweed import running as running
from tests.seaweed import weed_binary as weed_binary

__all__ = ["BUCKET", "properties", "running", "weed_binary"]


def properties(endpoint: str) -> dict[str, str]:
    """The catalog properties that reach the server (the test keys, not secrets)."""
    return {
        "s3.endpoint": endpoint,
        "s3.access-key-id": ACCESS_KEY,
        "s3.secret-access-key": SECRET_KEY,
        "s3.region": "us-east-1",
    }
