"""Signatures: byte for byte MLflow's, and what a receiver checks."""

from __future__ import annotations

import pytest

from cairn.webhooks import signing


def test_signature_is_mlflows() -> None:
    delivery = pytest.importorskip("mlflow.webhooks.delivery")
    body = '{"entity":"model_version","action":"created","data":{"name":"m ü"}}'
    ours = signing.sign("s3cr3t", "d-1", "1700000000", body)
    assert ours.startswith("v1,")
    assert ours == delivery._generate_hmac_signature("s3cr3t", "d-1", "1700000000", body)


@pytest.mark.parametrize(
    ("secret", "delivery_id", "timestamp", "body"),
    [
        ("other", "d-1", "1700000000", "{}"),
        ("s3cr3t", "d-2", "1700000000", "{}"),
        ("s3cr3t", "d-1", "1700000001", "{}"),
        ("s3cr3t", "d-1", "1700000000", "{ }"),
    ],
)
def test_any_change_breaks_the_signature(
    secret: str, delivery_id: str, timestamp: str, body: str
) -> None:
    signature = signing.sign("s3cr3t", "d-1", "1700000000", "{}")
    assert signing.verify("s3cr3t", "d-1", "1700000000", "{}", signature)
    assert not signing.verify(secret, delivery_id, timestamp, body, signature)
