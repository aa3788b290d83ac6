"""The single source of naming and size rules."""

from __future__ import annotations

import pytest

from cairn import validation
from cairn.errors import CairnError


@pytest.mark.parametrize("key", ["loss", "a/b", "val acc", "x.y-z:1", "_", "a" * 250])
def test_good_keys(key: str) -> None:
    assert validation.validate_key(key) == key


@pytest.mark.parametrize(
    "key", ["", "a" * 251, "../x", "a/../b", "/abs", "a//b", "./a", "a/.", "x*y", "é\x00", 5, None]
)
def test_bad_keys(key: object) -> None:
    with pytest.raises(CairnError) as exc:
        validation.validate_key(key)
    assert exc.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("value", [1, 1.5, True, float("nan"), float("inf")])
def test_metric_values_are_real_numbers(value: object) -> None:
    assert isinstance(validation.validate_metric_value("m", value), float)


@pytest.mark.parametrize("value", ["1.0", None, [1], 1j, object()])
def test_metric_values_that_are_not_numbers(value: object) -> None:
    with pytest.raises(CairnError, match="Metric values must be real numbers"):
        validation.validate_metric_value("m", value)


def test_numpy_scalars_are_numbers() -> None:
    np = pytest.importorskip("numpy")
    assert validation.validate_metric_value("m", np.float32(0.5)) == 0.5
    assert validation.validate_step(np.int64(7)) == 7


@pytest.mark.parametrize("step", [1.5, "3", True, None])
def test_bad_steps(step: object) -> None:
    with pytest.raises(CairnError, match="step"):
        validation.validate_step(step)


def test_values_are_stringified_and_bounded() -> None:
    assert validation.validate_param("p", 0.1) == ("p", "0.1")
    with pytest.raises(CairnError, match="6000"):
        validation.validate_param("p", "x" * 6001)
    with pytest.raises(CairnError, match="NUL"):
        validation.validate_tag("t", "a\x00b")


@pytest.mark.parametrize("good", ["0", "1", 7, "2147483647"])
def test_good_experiment_ids(good: object) -> None:
    assert validation.validate_experiment_id(good) == str(good)


@pytest.mark.parametrize("bad", ["", "-1", "abc", "1.0", "2147483648", "9" * 30, None, 1.5])
def test_bad_experiment_ids(bad: object) -> None:
    with pytest.raises(CairnError, match="Invalid experiment id"):
        validation.validate_experiment_id(bad)


def test_batch_limits_are_mlflows() -> None:
    validation.validate_batch_sizes(1000, 0, 0)
    validation.validate_batch_sizes(900, 50, 50)
    for sizes in [(1001, 0, 0), (0, 101, 0), (0, 0, 101), (901, 100, 0)]:
        with pytest.raises(CairnError, match="at most"):
            validation.validate_batch_sizes(*sizes)
