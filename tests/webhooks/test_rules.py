"""What a webhook may be, and which addresses it may call."""

from __future__ import annotations

import ipaddress

import pytest

from cairn.errors import CairnError
from cairn.webhooks import rules


@pytest.mark.parametrize("name", ["a", "hook-1", "ci.notify_2", "A" * 63])
def test_good_names(name: str) -> None:
    assert rules.validate_name(name) == name


@pytest.mark.parametrize("name", ["", "-x", "x-", "a b", "A" * 64, "ü", None, 3])
def test_bad_names(name: object) -> None:
    with pytest.raises(CairnError, match="Invalid webhook name"):
        rules.validate_name(name)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/hook", "https://hooks.example.com/x?y=1", "http://[::1]/h"],
)
def test_good_urls(url: str) -> None:
    assert rules.validate_url(url, allow_private=True) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/x", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("example.com/hook", "scheme"),
        ("http:///nohost", "no host"),
        ("http://exa mple.com/", "whitespace"),
        ("http://example.com:99999/", "out of range"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://0.0.0.0:80/", "unicast"),
        ("http://127.1/", "canonical"),
        ("http://0177.0.0.1/", "canonical"),
        ("https://example.com/" + "x" * 2048, "limit"),
        ("", "non-empty"),
        (None, "non-empty"),
    ],
)
def test_bad_urls(url: object, why: str) -> None:
    with pytest.raises(CairnError, match=why):
        rules.validate_url(url, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://100.64.0.1/",
        "http://localhost:5000/",
        "http://[::1]/",
        "http://[fd00::1]/",
    ],
)
def test_private_addresses_can_be_refused(url: str) -> None:
    assert rules.validate_url(url, allow_private=True) == url
    with pytest.raises(CairnError, match="CAIRN_WEBHOOK_ALLOW_PRIVATE_IPS"):
        rules.validate_url(url, allow_private=False)


def test_public_addresses_pass_either_way() -> None:
    public = ipaddress.ip_address("93.184.216.34")
    assert rules.address_refusal(public, allow_private=False) is None
    assert rules.check_destination("93.184.216.34", 443, allow_private=False, timeout_s=5) is None
    assert rules.check_destination("127.0.0.1", 80, allow_private=False, timeout_s=5) is not None


def test_events() -> None:
    assert rules.validate_events(["model_version.created", "model_version.created"]) == [
        "model_version.created"
    ]
    for bad in ([], "model_version.created", ["model_version.exploded"], None):
        with pytest.raises(CairnError):
            rules.validate_events(bad)


def test_status_secret_description() -> None:
    assert rules.validate_status("DISABLED") == "DISABLED"
    with pytest.raises(CairnError, match="ACTIVE or DISABLED"):
        rules.validate_status("active")
    assert rules.validate_secret("") is None
    assert rules.validate_description("") is None
    with pytest.raises(CairnError):
        rules.validate_secret("x" * 5000)
