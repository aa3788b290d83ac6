"""The filter / order_by parser: syntax trees for good input, exact messages for bad input."""

from __future__ import annotations

import pytest

from cairn.errors import INVALID_PARAMETER_VALUE, CairnError
from cairn.search import (
    And,
    Comparison,
    Not,
    Or,
    OrderKey,
    decode_page_token,
    encode_page_token,
    parse_filter,
    parse_order_by,
)
from cairn.search._sql import like_to_glob


def metric(key: str, op: str, value: object) -> Comparison:
    return Comparison("metric", key, op, value)  # type: ignore[arg-type]


def param(key: str, op: str, value: object) -> Comparison:
    return Comparison("param", key, op, value)  # type: ignore[arg-type]


def tag(key: str, op: str, value: object) -> Comparison:
    return Comparison("tag", key, op, value)  # type: ignore[arg-type]


def attr(key: str, op: str, value: object) -> Comparison:
    return Comparison("attribute", key, op, value)  # type: ignore[arg-type]


def dataset(key: str, op: str, value: object) -> Comparison:
    return Comparison("dataset", key, op, value)  # type: ignore[arg-type]


# --- good filters -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "", "   ", "\t\n"])
def test_no_filter(text: str | None) -> None:
    assert parse_filter(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.loss < 0.5", metric("loss", "<", 0.5)),
        ("metric.loss >= -1e-3", metric("loss", ">=", -0.001)),
        ("metrics.loss<=2", metric("loss", "<=", 2)),
        ("metrics.loss > +.5E2", metric("loss", ">", 50.0)),
        ("metrics.loss != 3", metric("loss", "!=", 3)),
        ("metrics.loss = 1.", metric("loss", "=", 1.0)),
        ("metrics.`val/loss` > 0", metric("val/loss", ">", 0)),
        ("metrics.val/loss > 0", metric("val/loss", ">", 0)),
        ('metrics."my key.x" = 1', metric("my key.x", "=", 1)),
        ("params.model = 'cnn'", param("model", "=", "cnn")),
        ('param.model = "cnn"', param("model", "=", "cnn")),
        ("params.a.b = 'x'", param("a.b", "=", "x")),
        ("params.`a b` != ''", param("a b", "!=", "")),
        ("params.x = 'it''s'", param("x", "=", "it's")),
        ("params.x = 'it\\'s'", param("x", "=", "it's")),
        ('params.x = "say \\"hi\\""', param("x", "=", 'say "hi"')),
        ("params.x = 'a\\\\b'", param("x", "=", "a\\b")),
        ("params.x LIKE '50\\%'", param("x", "LIKE", "50\\%")),
        ("params.x like 'a%'", param("x", "LIKE", "a%")),
        ("params.x ILike '_A'", param("x", "ILIKE", "_A")),
        ("params.x IS NULL", param("x", "IS NULL", None)),
        ("params.x is not null", param("x", "IS NOT NULL", None)),
        ("tags.`mlflow.runName` = 'r'", tag("mlflow.runName", "=", "r")),
        ("tag.team = 'a'", tag("team", "=", "a")),
        ("metrics.m IS NULL", metric("m", "IS NULL", None)),
        ("attributes.status = 'FAILED'", attr("status", "=", "FAILED")),
        ("attribute.status IN ('A', \"B\")", attr("status", "IN", ("A", "B"))),
        ("attr.run_id not in ('r1')", attr("run_id", "NOT IN", ("r1",))),
        ("run.run_name = 'x'", attr("run_name", "=", "x")),
        ("run_name ILIKE '%x%'", attr("run_name", "ILIKE", "%x%")),
        ("attributes.run_uuid = 'r1'", attr("run_id", "=", "r1")),
        ("attributes.created > 5", attr("start_time", ">", 5)),
        ("Created > 5", attr("start_time", ">", 5)),
        ("end_time IS NULL", attr("end_time", "IS NULL", None)),
        ("experiment_id = '3'", attr("experiment_id", "=", "3")),
        ("attributes.`user_id` = 'u'", attr("user_id", "=", "u")),
        ("datasets.name = 'mnist'", dataset("name", "=", "mnist")),
        ("dataset.digest IN ('a', 'b')", dataset("digest", "IN", ("a", "b"))),
        ("datasets.context NOT IN ('train')", dataset("context", "NOT IN", ("train",))),
        ("DATASETS.context LIKE 'tr%'", dataset("context", "LIKE", "tr%")),
    ],
)
def test_comparisons(text: str, expected: Comparison) -> None:
    assert parse_filter(text) == expected


def test_and_or_not_precedence() -> None:
    a, b, c, d = (metric(k, ">", 1) for k in "abcd")
    assert parse_filter(
        "metrics.a > 1 or metrics.b > 1 and not metrics.c > 1 OR metrics.d > 1"
    ) == Or((a, And((b, Not(c))), d))


def test_parentheses_override_precedence_and_flatten() -> None:
    a, b, c, d = (metric(k, ">", 1) for k in "abcd")
    assert parse_filter("(metrics.a > 1 OR metrics.b > 1) AND metrics.c > 1") == And(
        (Or((a, b)), c)
    )
    assert parse_filter("metrics.a > 1 AND (metrics.b > 1 AND metrics.c > 1)") == And((a, b, c))
    assert parse_filter("((metrics.a > 1))") == a
    assert parse_filter("NOT NOT (metrics.a > 1 or metrics.b > 1) and metrics.d > 1") == And(
        (Not(Not(Or((a, b)))), d)
    )


def test_nesting_is_bounded() -> None:
    deep = "(" * 32 + "metrics.a > 1" + ")" * 32
    assert parse_filter(deep) == metric("a", ">", 1)
    assert parse_filter("NOT " * 31 + "(metrics.a > 1)") is not None
    with pytest.raises(CairnError) as info:
        parse_filter("(" * 33 + "metrics.a > 1" + ")" * 33)
    assert info.value.message.endswith("'(' nests deeper than 32 levels at position 32")
    with pytest.raises(CairnError, match="'NOT' nests deeper than 32 levels at position 128"):
        parse_filter("NOT " * 33 + "metrics.a > 1")


def test_mlflow_style_and_chain() -> None:
    assert parse_filter(
        'params.model = "LogisticRegression" and params.lambda = "0.001" and metrics.error <= 0.05'
    ) == And(
        (
            param("model", "=", "LogisticRegression"),
            param("lambda", "=", "0.001"),
            metric("error", "<=", 0.05),
        )
    )


def test_keywords_are_case_insensitive_and_whitespace_is_free() -> None:
    assert parse_filter("metrics.a>1 aNd(params.b LiKe'x'oR tags.c iS nOt NuLl)") == And(
        (metric("a", ">", 1), Or((param("b", "LIKE", "x"), tag("c", "IS NOT NULL", None))))
    )


def test_experiment_filters() -> None:
    assert parse_filter("name = 'x' and attributes.name != 'y'", "experiments") == And(
        (attr("name", "=", "x"), attr("name", "!=", "y"))
    )
    assert parse_filter("creation_time >= 10 or tags.t ILIKE '%a'", "experiments") == Or(
        (attr("creation_time", ">=", 10), tag("t", "ILIKE", "%a"))
    )
    assert parse_filter("experiment_id IN ('1', '2')", "experiments") == attr(
        "experiment_id", "IN", ("1", "2")
    )
    assert parse_filter("last_update_time IS NULL", "experiments") == attr(
        "last_update_time", "IS NULL", None
    )


# --- bad filters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # the brief's example
        (
            "metrics.loss <",
            "Invalid filter 'metrics.loss <': expected a value after '<' at position 14",
        ),
        # types
        (
            "metrics.loss = 'abc'",
            "Invalid filter \"metrics.loss = 'abc'\": expected a number for 'metrics.loss', "
            "found 'abc' at position 15",
        ),
        (
            "params.x = 3",
            "Invalid filter 'params.x = 3': expected a quoted string for 'params.x', "
            "found '3' at position 11",
        ),
        (
            "params.x > 3",
            "Invalid filter 'params.x > 3': operator '>' is not allowed for 'params.x' at "
            "position 9; use one of =, !=, LIKE, ILIKE, IS NULL, IS NOT NULL",
        ),
        (
            "attributes.start_time LIKE 'x'",
            "Invalid filter \"attributes.start_time LIKE 'x'\": operator 'LIKE' is not allowed "
            "for 'attributes.start_time' at position 22; use one of =, !=, <, <=, >, >=, "
            "IS NULL, IS NOT NULL",
        ),
        (
            "metrics.m IN (1, 2)",
            "Invalid filter 'metrics.m IN (1, 2)': operator 'IN' is not allowed for "
            "'metrics.m' at position 10; use one of =, !=, <, <=, >, >=, IS NULL, IS NOT NULL",
        ),
        (
            "status IS NULL",
            "Invalid filter 'status IS NULL': operator 'IS NULL' is not allowed for 'status' "
            "at position 7; use one of =, !=, LIKE, ILIKE, IN, NOT IN",
        ),
        (
            "status IN ('A', 2)",
            "Invalid filter \"status IN ('A', 2)\": expected a quoted string for 'status', "
            "found '2' at position 16",
        ),
        (
            "start_time > '5'",
            "Invalid filter \"start_time > '5'\": expected a number for 'start_time', "
            "found '5' at position 13",
        ),
        (
            "datasets.name > 'a'",
            "Invalid filter \"datasets.name > 'a'\": operator '>' is not allowed for "
            "'datasets.name' at position 14; use one of =, !=, LIKE, ILIKE, IN, NOT IN",
        ),
        # identifiers
        (
            "attributes.foo = 'x'",
            "Invalid filter \"attributes.foo = 'x'\": unknown attribute 'foo' at position 0; "
            "expected one of run_id, run_name, status, user_id, artifact_uri, lifecycle_stage, "
            "experiment_id, start_time, end_time",
        ),
        (
            "metrics.a > 1 and bogus = 'x'",
            "Invalid filter \"metrics.a > 1 and bogus = 'x'\": unknown attribute 'bogus' at "
            "position 18; expected one of run_id, run_name, status, user_id, artifact_uri, "
            "lifecycle_stage, experiment_id, start_time, end_time",
        ),
        (
            "metricz.a = 1",
            "Invalid filter 'metricz.a = 1': unknown identifier 'metricz.a' at position 0; "
            "expected an attribute name or a key after metrics., params., tags., attributes. "
            "or datasets.",
        ),
        (
            "datasets.size = 'x'",
            "Invalid filter \"datasets.size = 'x'\": unknown dataset field 'size' at position 0; "
            "expected name, digest or context",
        ),
        (
            "metrics. = 1",
            "Invalid filter 'metrics. = 1': missing key after 'metrics.' at position 0",
        ),
        (
            "params.`` = 'x'",
            "Invalid filter \"params.`` = 'x'\": missing key after 'params.' at position 0",
        ),
        # strings and characters
        ("params.a = 'x", 'Invalid filter "params.a = \'x": unterminated string at position 11'),
        ('params.a = "x', "Invalid filter 'params.a = \"x': unterminated string at position 11"),
        (
            "params.`a = 'x'",
            "Invalid filter \"params.`a = 'x'\": unterminated quoted key at position 7",
        ),
        (
            "metrics.a ! 3",
            "Invalid filter 'metrics.a ! 3': unexpected character '!' at position 10; "
            "the not-equal operator is '!='",
        ),
        (
            "metrics.a > 1 # c",
            "Invalid filter 'metrics.a > 1 # c': unexpected character '#' at position 14",
        ),
        (
            "metrics.a > 1abc",
            "Invalid filter 'metrics.a > 1abc': invalid number '1abc' at position 12",
        ),
        (
            "params.x LIKE 'ab\\\\'",
            "Invalid filter \"params.x LIKE 'ab\\\\\\\\'\": pattern 'ab\\\\' ends with the escape "
            "character '\\' at position 14",
        ),
        # structure
        (
            "metrics.a > 1 and",
            "Invalid filter 'metrics.a > 1 and': expected a condition after 'and' at position 17",
        ),
        (
            "metrics.a > 1 OR OR metrics.b > 1",
            "Invalid filter 'metrics.a > 1 OR OR metrics.b > 1': expected a condition after "
            "'OR', found 'OR' at position 17",
        ),
        ("()", "Invalid filter '()': expected a condition after '(', found ')' at position 1"),
        ("(metrics.a > 1", "Invalid filter '(metrics.a > 1': unclosed '(' at position 0"),
        (
            "(metrics.a > 1 metrics.b > 1)",
            "Invalid filter '(metrics.a > 1 metrics.b > 1)': expected AND, OR or ')' after '1', "
            "found 'metrics.b' at position 15",
        ),
        (
            "metrics.a > 1 )",
            "Invalid filter 'metrics.a > 1 )': unexpected ')' at position 14; expected AND, OR "
            "or the end of the filter",
        ),
        (
            "metrics.a > 1 foo",
            "Invalid filter 'metrics.a > 1 foo': unexpected 'foo' at position 14; expected AND, "
            "OR or the end of the filter",
        ),
        (
            "metrics.a",
            "Invalid filter 'metrics.a': expected an operator after 'metrics.a' at position 9; "
            "'metrics.a' takes =, !=, <, <=, >, >=, IS NULL, IS NOT NULL",
        ),
        (
            "params.a = abc",
            "Invalid filter 'params.a = abc': expected a value after '=', found 'abc' at "
            "position 11; quote string values",
        ),
        (
            "metrics.a > > 1",
            "Invalid filter 'metrics.a > > 1': expected a value after '>', found '>' at "
            "position 12",
        ),
        ("= 1", "Invalid filter '= 1': expected a condition, found '=' at position 0"),
        (
            "'a' = 'a'",
            "Invalid filter \"'a' = 'a'\": expected a condition, found 'a' at position 0",
        ),
        (
            "params.a NOT LIKE 'x'",
            "Invalid filter \"params.a NOT LIKE 'x'\": expected IN after 'NOT', found 'LIKE' at "
            "position 13",
        ),
        (
            "tags.a IS 'x'",
            "Invalid filter \"tags.a IS 'x'\": expected NULL after 'IS', found 'x' at position 10",
        ),
        (
            "tags.a IS NOT",
            "Invalid filter 'tags.a IS NOT': expected NULL after 'NOT' at position 13",
        ),
        # tuples
        (
            "status IN 'a'",
            "Invalid filter \"status IN 'a'\": expected '(' after 'IN', found 'a' at position 10",
        ),
        (
            "status IN ()",
            "Invalid filter 'status IN ()': expected a value after '(', found ')' at position 11",
        ),
        (
            "status IN ('a',)",
            "Invalid filter \"status IN ('a',)\": expected a value after ',', found ')' at "
            "position 15",
        ),
        ("status IN ('a'", "Invalid filter \"status IN ('a'\": unclosed '(' at position 10"),
        (
            "status IN ('a' 'b')",
            "Invalid filter \"status IN ('a' 'b')\": expected ',' or ')' after 'a', found 'b' at "
            "position 15",
        ),
    ],
)
def test_bad_filters(text: str, message: str) -> None:
    with pytest.raises(CairnError) as info:
        parse_filter(text)
    assert info.value.message == message
    assert info.value.error_code == INVALID_PARAMETER_VALUE


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "metrics.a > 1",
            "Invalid filter 'metrics.a > 1': unknown identifier 'metrics.a' at position 0; "
            "expected an attribute name or a key after tags. or attributes.",
        ),
        (
            "run_name = 'x'",
            "Invalid filter \"run_name = 'x'\": unknown attribute 'run_name' at position 0; "
            "expected one of name, experiment_id, creation_time, last_update_time",
        ),
        (
            "name > 'x'",
            "Invalid filter \"name > 'x'\": operator '>' is not allowed for 'name' at position 5;"
            " use one of =, !=, LIKE, ILIKE, IN, NOT IN",
        ),
    ],
)
def test_bad_experiment_filters(text: str, message: str) -> None:
    with pytest.raises(CairnError) as info:
        parse_filter(text, "experiments")
    assert info.value.message == message


# --- order_by ---------------------------------------------------------------------------------


def test_order_by() -> None:
    assert parse_order_by(
        [
            "metrics.loss ASC",
            "params.lr DESC",
            "attributes.start_time",
            "tags.`x y` desc",
            "start_time",
            "Created Desc",
            'metric."a b"',
            "run_name asc",
        ]
    ) == [
        OrderKey("metric", "loss", True),
        OrderKey("param", "lr", False),
        OrderKey("attribute", "start_time", True),
        OrderKey("tag", "x y", False),
        OrderKey("attribute", "start_time", True),
        OrderKey("attribute", "start_time", False),
        OrderKey("metric", "a b", True),
        OrderKey("attribute", "run_name", True),
    ]
    assert parse_order_by(None) == []
    assert parse_order_by([]) == []
    assert parse_order_by(["name DESC", "attributes.last_update_time"], "experiments") == [
        OrderKey("attribute", "name", False),
        OrderKey("attribute", "last_update_time", True),
    ]


@pytest.mark.parametrize(
    ("items", "kind", "message"),
    [
        (
            ["foo"],
            "runs",
            "Invalid order_by clause 'foo': unknown attribute 'foo' at position 0; expected one "
            "of run_id, run_name, status, user_id, artifact_uri, lifecycle_stage, "
            "experiment_id, start_time, end_time",
        ),
        (
            ["metrics.loss sideways"],
            "runs",
            "Invalid order_by clause 'metrics.loss sideways': expected ASC or DESC after "
            "'metrics.loss', found 'sideways' at position 13",
        ),
        (
            ["metrics.loss ASC DESC"],
            "runs",
            "Invalid order_by clause 'metrics.loss ASC DESC': expected the end of the clause "
            "after 'ASC', found 'DESC' at position 17",
        ),
        (
            ["metrics.loss, params.x"],
            "runs",
            "Invalid order_by clause 'metrics.loss, params.x': expected ASC or DESC after "
            "'metrics.loss', found ',' at position 12",
        ),
        (
            [""],
            "runs",
            "Invalid order_by clause '': expected an attribute, metric, param or tag at position 0",
        ),
        (
            ["DESC"],
            "runs",
            "Invalid order_by clause 'DESC': unknown attribute 'DESC' at position 0; expected "
            "one of run_id, run_name, status, user_id, artifact_uri, lifecycle_stage, "
            "experiment_id, start_time, end_time",
        ),
        (
            ["datasets.name"],
            "runs",
            "Invalid order_by clause 'datasets.name': cannot order by 'datasets.name' at "
            "position 0",
        ),
        (
            ["tags.t"],
            "experiments",
            "Invalid order_by clause 'tags.t': cannot order by 'tags.t' at position 0",
        ),
        (
            ["start_time"],
            "experiments",
            "Invalid order_by clause 'start_time': unknown attribute 'start_time' at position 0;"
            " expected one of name, experiment_id, creation_time, last_update_time",
        ),
        (
            ["metrics.`x"],
            "runs",
            "Invalid order_by clause 'metrics.`x': unterminated quoted key at position 8",
        ),
    ],
)
def test_bad_order_by(items: list[str], kind: str, message: str) -> None:
    with pytest.raises(CairnError) as info:
        parse_order_by(items, kind)  # type: ignore[arg-type]
    assert info.value.message == message
    assert info.value.error_code == INVALID_PARAMETER_VALUE


def test_order_by_rejects_non_strings() -> None:
    with pytest.raises(CairnError, match=r"Invalid order_by clause 3: expected a string"):
        parse_order_by([3])  # type: ignore[list-item]


# --- LIKE to GLOB, page tokens ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("like", "glob"),
    [
        ("a%", "a*"),
        ("_b_", "?b?"),
        ("50\\%", "50%"),
        ("a\\_b", "a_b"),
        ("a\\\\b", "a\\b"),
        ("[x]*?", "[[]x][*][?]"),
        ("\\q", "q"),
    ],
)
def test_like_to_glob(like: str, glob: str) -> None:
    assert like_to_glob(like) == glob


@pytest.mark.parametrize("offset", [0, 1, 1000, 10**12])
def test_page_token_roundtrip(offset: int) -> None:
    token = encode_page_token(offset)
    assert token.isascii() and "/" not in token and "+" not in token
    assert decode_page_token(token) == offset
    assert decode_page_token(token.rstrip("=")) == offset


@pytest.mark.parametrize("token", [None, ""])
def test_no_page_token_is_offset_zero(token: str | None) -> None:
    assert decode_page_token(token) == 0


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "bm90IGpzb24",  # "not json"
        "WzFd",  # [1]
        "eyJvZmZzZXQiOiAtMX0=",  # {"offset": -1}
        "eyJvZmZzZXQiOiAiMSJ9",  # {"offset": "1"}
        "eyJvZmZzZXQiOiB0cnVlfQ==",  # {"offset": true}
        "eyJwYWdlIjogMn0=",  # {"page": 2}
        "é",
    ],
)
def test_bad_page_tokens(token: str) -> None:
    with pytest.raises(CairnError) as info:
        decode_page_token(token)
    assert info.value.message == (f"Invalid page_token {token!r}: not a token this server issued.")
    assert info.value.error_code == INVALID_PARAMETER_VALUE
