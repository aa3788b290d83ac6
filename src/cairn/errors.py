"""One exception type for every failure cairn reports, carrying MLflow's error codes.

The codes are the strings MLflow puts in ``{"error_code": ..., "message": ...}``, so the server
can translate any :class:`CairnError` to the same JSON and HTTP status MLflow would send.
"""

from __future__ import annotations

INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
BAD_REQUEST = "BAD_REQUEST"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
RESOURCE_CONFLICT = "RESOURCE_CONFLICT"
INVALID_STATE = "INVALID_STATE"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
UNAUTHENTICATED = "UNAUTHENTICATED"
PERMISSION_DENIED = "PERMISSION_DENIED"
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
INTERNAL_ERROR = "INTERNAL_ERROR"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"

# HTTP status MLflow's server answers with for each code (see shared/mlflow-wire-notes.md).
HTTP_STATUS = {
    INVALID_PARAMETER_VALUE: 400,
    BAD_REQUEST: 400,
    RESOURCE_ALREADY_EXISTS: 400,
    INVALID_STATE: 400,
    RESOURCE_DOES_NOT_EXIST: 404,
    ENDPOINT_NOT_FOUND: 404,
    RESOURCE_CONFLICT: 409,
    UNAUTHENTICATED: 401,
    PERMISSION_DENIED: 403,
    REQUEST_LIMIT_EXCEEDED: 429,
    INTERNAL_ERROR: 500,
    NOT_IMPLEMENTED: 501,
    TEMPORARILY_UNAVAILABLE: 503,
}


class CairnError(Exception):
    """A failure cairn can explain: a message for people and an error code for programs."""

    def __init__(self, message: str, error_code: str = INTERNAL_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.error_code, 500)

    def to_json(self) -> dict[str, str]:
        return {"error_code": self.error_code, "message": self.message}

    @classmethod
    def invalid(cls, message: str) -> CairnError:
        return cls(message, INVALID_PARAMETER_VALUE)

    @classmethod
    def not_found(cls, message: str) -> CairnError:
        return cls(message, RESOURCE_DOES_NOT_EXIST)

    @classmethod
    def exists(cls, message: str) -> CairnError:
        return cls(message, RESOURCE_ALREADY_EXISTS)
