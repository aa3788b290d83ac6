"""MLflow's webhook signature: ``v1,<base64 HMAC-SHA256 of "<delivery id>.<timestamp>.<body>">``.

The timestamp is the ``X-MLflow-Timestamp`` header (Unix seconds) and the body the exact bytes
sent, so a receiver verifies before parsing and can refuse old timestamps (replays).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "X-MLflow-Signature"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
DELIVERY_ID_HEADER = "X-MLflow-Delivery-Id"
VERSION = "v1"


def sign(secret: str, delivery_id: str, timestamp: str, body: str) -> str:
    message = f"{delivery_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return f"{VERSION},{base64.b64encode(digest).decode('ascii')}"


def verify(secret: str, delivery_id: str, timestamp: str, body: str, signature: str) -> bool:
    """Whether ``signature`` (a header value) is this secret's signature of the delivery."""
    return hmac.compare_digest(sign(secret, delivery_id, timestamp, body), signature)
