"""Page tokens: the offset of the next page, opaque to clients.

A token is the urlsafe base64 of ``{"offset": N}``. Offsets are simple and stable enough for a
tracking server: the search order always ends in a unique tie-breaker, so pages never overlap.
"""

from __future__ import annotations

import base64
import binascii
import json

from cairn.errors import CairnError


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode("ascii")


def decode_page_token(token: str | None) -> int:
    """The offset a token stands for; 0 for no token (None or empty)."""
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        payload = None
    offset = payload.get("offset") if isinstance(payload, dict) else None
    if type(offset) is not int or not 0 <= offset < 2**63:  # databases take int64 offsets
        raise CairnError.invalid(f"Invalid page_token {token!r}: not a token this server issued.")
    return offset


def check_page(offset: int, limit: int) -> None:
    """Reject a negative offset or limit (SQL would silently mean something else)."""
    if offset < 0 or limit < 0:
        raise CairnError.invalid(f"Invalid page: offset {offset} and limit {limit} must be >= 0.")
