"""Hand-written tokenizer and recursive-descent parser for search filters and order_by clauses.

The language is MLflow's (``metrics.loss < 0.5 and params.model = 'cnn'``) plus ``OR``,
``NOT`` and parentheses. Identifiers are resolved and types are checked here rather than in the
SQL builders, so every mistake is reported with the offending token and its position (a 0-based
character offset), e.g. ``Invalid filter 'metrics.loss <': expected a value after '<' at
position 14``.

Grammar (keywords are case-insensitive; NOT binds tighter than AND, AND tighter than OR)::

    filter     := or_expr EOF
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := not_expr ("AND" not_expr)*
    not_expr   := "NOT" not_expr | "(" or_expr ")" | comparison
    comparison := ident ( op value | ("LIKE" | "ILIKE") value | ["NOT"] "IN" tuple
                        | "IS" ["NOT"] "NULL" )
    tuple      := "(" value ("," value)* ")"
    order_by   := ident ["ASC" | "DESC"] EOF

``ident`` is ``prefix.key`` (the key may contain dots, or be quoted with backquotes or double
quotes: ``tags.`a b```) or a bare attribute name. Strings take single or double quotes; a quote
is escaped by doubling it or with a backslash. Pure Python and import-light on purpose: it runs
on every search request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, NoReturn

from cairn.errors import CairnError
from cairn.search.ast import (
    ATTRIBUTE,
    DATASET,
    METRIC,
    PARAM,
    TAG,
    And,
    Comparison,
    Node,
    Not,
    Or,
    OrderKey,
    Value,
)

Kind = Literal["runs", "experiments", "logged_models", "registered_models", "model_versions"]

# How many NOTs and parentheses may be open at once. Bounds recursion here and in SQLAlchemy,
# and keeps the SQL within SQLite's parser stack (which overflows at ~40 nested NOTs).
MAX_NESTING = 32

# --- what each kind of search understands ---------------------------------------------------


@dataclass(frozen=True)
class _Attribute:
    name: str  # canonical name: what Comparison.key and OrderKey.key carry
    numeric: bool
    nullable: bool


def _attribute_table(*attrs: _Attribute, aliases: dict[str, str]) -> dict[str, _Attribute]:
    table = {a.name: a for a in attrs}
    table.update({alias: table[target] for alias, target in aliases.items()})
    return table


_RUN_ATTRIBUTES = _attribute_table(
    _Attribute("run_id", numeric=False, nullable=False),
    _Attribute("run_name", numeric=False, nullable=False),
    _Attribute("status", numeric=False, nullable=False),
    _Attribute("user_id", numeric=False, nullable=False),
    _Attribute("artifact_uri", numeric=False, nullable=False),
    _Attribute("lifecycle_stage", numeric=False, nullable=False),
    _Attribute("experiment_id", numeric=False, nullable=False),
    _Attribute("start_time", numeric=True, nullable=True),
    _Attribute("end_time", numeric=True, nullable=True),
    aliases={"run_uuid": "run_id", "created": "start_time", "Created": "start_time"},
)

_EXPERIMENT_ATTRIBUTES = _attribute_table(
    _Attribute("name", numeric=False, nullable=False),
    _Attribute("experiment_id", numeric=False, nullable=False),
    _Attribute("creation_time", numeric=True, nullable=True),
    _Attribute("last_update_time", numeric=True, nullable=True),
    aliases={},
)

_LOGGED_MODEL_ATTRIBUTES = _attribute_table(
    _Attribute("model_id", numeric=False, nullable=False),
    _Attribute("name", numeric=False, nullable=False),
    _Attribute("experiment_id", numeric=False, nullable=False),
    _Attribute("source_run_id", numeric=False, nullable=True),
    _Attribute("status", numeric=False, nullable=False),
    _Attribute("model_type", numeric=False, nullable=True),
    _Attribute("artifact_location", numeric=False, nullable=False),
    _Attribute("creation_timestamp", numeric=True, nullable=False),
    _Attribute("last_updated_timestamp", numeric=True, nullable=False),
    aliases={
        "artifact_uri": "artifact_location",
        "creation_time": "creation_timestamp",
        "creation_timestamp_ms": "creation_timestamp",
        "last_updated_timestamp_ms": "last_updated_timestamp",
    },
)

# The model registry (MLflow's registered-model and model-version search, with timestamps).
_REGISTERED_MODEL_ATTRIBUTES = _attribute_table(
    _Attribute("name", numeric=False, nullable=False),
    _Attribute("creation_timestamp", numeric=True, nullable=False),
    _Attribute("last_updated_timestamp", numeric=True, nullable=False),
    aliases={"timestamp": "last_updated_timestamp"},
)

_MODEL_VERSION_ATTRIBUTES = _attribute_table(
    _Attribute("name", numeric=False, nullable=False),
    _Attribute("version_number", numeric=True, nullable=False),
    _Attribute("run_id", numeric=False, nullable=True),
    _Attribute("source_path", numeric=False, nullable=False),
    _Attribute("model_id", numeric=False, nullable=True),
    _Attribute("user_id", numeric=False, nullable=True),
    _Attribute("current_stage", numeric=False, nullable=False),
    _Attribute("status", numeric=False, nullable=False),
    _Attribute("creation_timestamp", numeric=True, nullable=False),
    _Attribute("last_updated_timestamp", numeric=True, nullable=False),
    aliases={
        "source": "source_path",
        "version": "version_number",
        "timestamp": "last_updated_timestamp",
    },
)

_ATTRIBUTE_PREFIXES = {"attribute": ATTRIBUTE, "attributes": ATTRIBUTE, "attr": ATTRIBUTE}
_TAG_PREFIXES = {"tag": TAG, "tags": TAG}

_RUN_PREFIXES = {
    "metric": METRIC,
    "metrics": METRIC,
    "param": PARAM,
    "params": PARAM,
    "run": ATTRIBUTE,
    "dataset": DATASET,
    "datasets": DATASET,
    **_TAG_PREFIXES,
    **_ATTRIBUTE_PREFIXES,
}

_DATASET_FIELDS = ("name", "digest", "context")


@dataclass(frozen=True)
class _Language:
    prefixes: dict[str, str]
    prefix_hint: str
    attributes: dict[str, _Attribute]
    orderable: frozenset[str]  # entity types order_by accepts


_LANGUAGES: dict[str, _Language] = {
    "runs": _Language(
        _RUN_PREFIXES,
        "metrics., params., tags., attributes. or datasets.",
        _RUN_ATTRIBUTES,
        frozenset({METRIC, PARAM, TAG, ATTRIBUTE}),
    ),
    "experiments": _Language(
        {**_TAG_PREFIXES, **_ATTRIBUTE_PREFIXES},
        "tags. or attributes.",
        _EXPERIMENT_ATTRIBUTES,
        frozenset({ATTRIBUTE}),
    ),
    # MLflow 3 logged models: the run grammar with a model's attributes, no datasets.
    "logged_models": _Language(
        {
            "metric": METRIC,
            "metrics": METRIC,
            "param": PARAM,
            "params": PARAM,
            **_TAG_PREFIXES,
            **_ATTRIBUTE_PREFIXES,
        },
        "metrics., params., tags. or attributes.",
        _LOGGED_MODEL_ATTRIBUTES,
        frozenset({ATTRIBUTE, METRIC}),
    ),
    "registered_models": _Language(
        {**_TAG_PREFIXES, **_ATTRIBUTE_PREFIXES},
        "tags. or attributes.",
        _REGISTERED_MODEL_ATTRIBUTES,
        frozenset({ATTRIBUTE}),
    ),
    "model_versions": _Language(
        {**_TAG_PREFIXES, **_ATTRIBUTE_PREFIXES},
        "tags. or attributes.",
        _MODEL_VERSION_ATTRIBUTES,
        frozenset({ATTRIBUTE}),
    ),
}

_COMPARE = ("=", "!=", "<", "<=", ">", ">=")
_MATCH = ("=", "!=", "LIKE", "ILIKE")
_IN = ("IN", "NOT IN")
_IS = ("IS NULL", "IS NOT NULL")


def _operators(entity_type: str, attr: _Attribute | None) -> tuple[tuple[str, ...], bool]:
    """The operators an identifier accepts, and whether its values are numbers."""
    if entity_type == METRIC:
        return _COMPARE + _IS, True
    if entity_type in (PARAM, TAG):
        return _MATCH + _IS, False
    if entity_type == DATASET:
        return _MATCH + _IN, False
    assert attr is not None
    nullable = _IS if attr.nullable else ()
    if attr.numeric:
        return _COMPARE + nullable, True
    return _MATCH + _IN + nullable, False


# --- tokens -----------------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z_][\w.\-/:]*")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_WORD_CHAR = re.compile(r"[\w.]")
_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "IS", "NULL"})
_TWO_CHAR_OPS = ("!=", "<=", ">=")
_PUNCTUATION = {"(": "LPAREN", ")": "RPAREN", ",": "COMMA"}


@dataclass(frozen=True)
class _Token:
    kind: str  # WORD IDENT KEYWORD STRING NUMBER OP LPAREN RPAREN COMMA EOF
    text: str  # exactly as written
    pos: int
    # STRING: str; NUMBER: int | float; IDENT: (prefix, key); WORD: str; KEYWORD: upper-case
    value: object = None


def _show(tok: _Token) -> str:
    """A token as quoted in messages: strings keep their own quotes."""
    return tok.text if tok.kind == "STRING" else repr(tok.text)


Fail = Callable[..., NoReturn]


def _scan_quoted(text: str, start: int, fail: Fail) -> tuple[str, int]:
    """The unescaped content of the quoted text at ``start`` and the index after it."""
    quote, out, i, n = text[start], [], start + 1, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n:
            nxt = text[i + 1]
            # Only quotes and backslashes are escapes; keep others (LIKE's '\%') verbatim.
            out.append(nxt if nxt in (quote, "\\") else c + nxt)
            i += 2
        elif c == quote and i + 1 < n and text[i + 1] == quote:
            out.append(quote)
            i += 2
        elif c == quote:
            return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    fail("unterminated quoted key" if quote == "`" else "unterminated string", start)


def _tokenize(text: str, fail: Fail) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        start = i
        if c.isspace():
            i += 1
            continue
        if c in "'\"":
            value, i = _scan_quoted(text, i, fail)
            tokens.append(_Token("STRING", text[start:i], start, value))
        elif c in _PUNCTUATION:
            i += 1
            tokens.append(_Token(_PUNCTUATION[c], c, start))
        elif c in "!<>=":
            op = text[i : i + 2] if text[i : i + 2] in _TWO_CHAR_OPS else c
            if op == "!":
                fail("unexpected character '!'", start, "the not-equal operator is '!='")
            i += len(op)
            tokens.append(_Token("OP", op, start))
        elif (c.isdigit() or c in "+-.") and (m := _NUMBER.match(text, i)):
            i = m.end()
            if i < n and _WORD_CHAR.match(text, i):
                bad = _WORD.match(text, i)
                end = bad.end() if bad else i + 1
                fail(f"invalid number {text[start:end]!r}", start)
            number = m.group()
            value = float(number) if any(ch in number for ch in ".eE") else int(number)
            if isinstance(value, int) and not -(2**63) <= value < 2**63:
                fail(f"number {number} is out of range (at most 19 digits)", start)
            if isinstance(value, float) and value in (float("inf"), float("-inf")):
                fail(f"number {number} is out of range", start)
            tokens.append(_Token("NUMBER", number, start, value))
        elif m := _WORD.match(text, i):
            word, i = m.group(), m.end()
            if word.endswith(".") and i < n and text[i] in '`"':
                key, i = _scan_quoted(text, i, fail)
                tokens.append(_Token("IDENT", text[start:i], start, (word[:-1], key)))
            elif "." in word:
                tokens.append(_Token("IDENT", word, start, tuple(word.split(".", 1))))
            elif word.upper() in _KEYWORDS:
                tokens.append(_Token("KEYWORD", word, start, word.upper()))
            else:
                tokens.append(_Token("WORD", word, start, word))
        else:
            fail(f"unexpected character {c!r}", start)
    tokens.append(_Token("EOF", "", n))
    return tokens


# --- parser -----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, kind: Kind, label: str) -> None:
        if kind not in _LANGUAGES:
            raise ValueError(f"unknown search kind {kind!r}")
        self.text = text
        self.label = label
        self.lang = _LANGUAGES[kind]
        self.tokens = _tokenize(text, self.fail)
        self.i = 0
        self.prev: _Token | None = None
        self.depth = 0  # NOTs and parentheses currently open

    # token helpers

    def fail(self, detail: str, pos: int, hint: str | None = None) -> NoReturn:
        message = f"Invalid {self.label} {self.text!r}: {detail} at position {pos}"
        raise CairnError.invalid(f"{message}; {hint}" if hint else message)

    def expected(self, what: str, hint: str | None = None) -> NoReturn:
        tok = self.peek()
        detail = f"expected {what}" + (f" after {_show(self.prev)}" if self.prev else "")
        if tok.kind != "EOF":
            detail += f", found {_show(tok)}"
        self.fail(detail, tok.pos, hint)

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        tok = self.tokens[self.i]
        if tok.kind != "EOF":
            self.i += 1
        self.prev = tok
        return tok

    def at_keyword(self, *words: str) -> bool:
        tok = self.tokens[self.i]
        return tok.kind == "KEYWORD" and tok.value in words

    def at_end(self) -> bool:
        return self.tokens[self.i].kind == "EOF"

    # identifiers

    def identifier(self, what: str) -> tuple[_Token, str, str, _Attribute | None]:
        """The next token as (token, entity type, canonical key, attribute spec or None)."""
        tok = self.peek()
        if tok.kind not in ("IDENT", "WORD"):
            self.expected(what)
        self.advance()
        if tok.kind == "WORD":
            entity_type, key = ATTRIBUTE, str(tok.value)
        else:
            prefix, key = tok.value  # type: ignore[misc]
            found = self.lang.prefixes.get(prefix.lower())
            if found is None:
                self.fail(
                    f"unknown identifier {_show(tok)}",
                    tok.pos,
                    f"expected an attribute name or a key after {self.lang.prefix_hint}",
                )
            entity_type = found
            if not key:
                self.fail(f"missing key after {prefix + '.'!r}", tok.pos)
        if entity_type == ATTRIBUTE:
            attr = self.lang.attributes.get(key)
            if attr is None:
                names = ", ".join(dict.fromkeys(a.name for a in self.lang.attributes.values()))
                self.fail(f"unknown attribute {key!r}", tok.pos, f"expected one of {names}")
            return tok, ATTRIBUTE, attr.name, attr
        if entity_type == DATASET and key not in _DATASET_FIELDS:
            self.fail(f"unknown dataset field {key!r}", tok.pos, "expected name, digest or context")
        return tok, entity_type, key, None

    # filter grammar

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.at_keyword("OR"):
            self.advance()
            items.append(self.and_expr())
        return _combine(Or, items)

    def and_expr(self) -> Node:
        items = [self.not_expr()]
        while self.at_keyword("AND"):
            self.advance()
            items.append(self.not_expr())
        return _combine(And, items)

    def not_expr(self) -> Node:
        if not (self.at_keyword("NOT") or self.peek().kind == "LPAREN"):
            return self.comparison()
        self.depth += 1
        if self.depth > MAX_NESTING:
            tok = self.peek()
            self.fail(f"{_show(tok)} nests deeper than {MAX_NESTING} levels", tok.pos)
        if self.at_keyword("NOT"):
            self.advance()
            node: Node = Not(self.not_expr())
        else:
            opening = self.advance()
            node = self.or_expr()
            self.close(opening, "AND, OR or ')'")
        self.depth -= 1
        return node

    def close(self, opening: _Token, what: str) -> None:
        if self.peek().kind == "RPAREN":
            self.advance()
        elif self.at_end():
            self.fail("unclosed '('", opening.pos)
        else:
            self.expected(what)

    def comparison(self) -> Comparison:
        ident, entity_type, key, attr = self.identifier("a condition")
        allowed, numeric = _operators(entity_type, attr)
        tok = self.peek()
        if tok.kind == "OP" or self.at_keyword("LIKE", "ILIKE", "IN"):
            op = str(tok.value or tok.text)
        elif self.at_keyword("NOT"):
            self.advance()
            if not self.at_keyword("IN"):
                self.expected("IN")
            op = "NOT IN"
        elif self.at_keyword("IS"):
            self.advance()
            negated = self.at_keyword("NOT")
            if negated:
                self.advance()
            if not self.at_keyword("NULL"):
                self.expected("NULL")
            op = "IS NOT NULL" if negated else "IS NULL"
        else:
            self.expected("an operator", f"{_show(ident)} takes {', '.join(allowed)}")
        if op not in allowed:
            self.fail(
                f"operator {op!r} is not allowed for {_show(ident)}",
                tok.pos,
                f"use one of {', '.join(allowed)}",
            )
        self.advance()
        value: Value
        if op in _IS:
            value = None
        elif op in _IN:
            value = self.tuple_value(ident, numeric)
        else:
            value = self.scalar(ident, numeric, like=op in ("LIKE", "ILIKE"))
        return Comparison(entity_type, key, op, value)

    def scalar(self, ident: _Token, numeric: bool, like: bool = False) -> str | int | float:
        tok = self.peek()
        if tok.kind not in ("STRING", "NUMBER"):
            hint = "quote string values" if tok.kind in ("WORD", "IDENT") else None
            self.expected("a value", hint)
        if numeric and tok.kind != "NUMBER":
            self.fail(f"expected a number for {_show(ident)}, found {_show(tok)}", tok.pos)
        if not numeric and tok.kind != "STRING":
            self.fail(f"expected a quoted string for {_show(ident)}, found {_show(tok)}", tok.pos)
        value = tok.value
        if like and _ends_with_escape(str(value)):
            self.fail(f"pattern {_show(tok)} ends with the escape character '\\'", tok.pos)
        self.advance()
        return value  # type: ignore[return-value]

    def tuple_value(self, ident: _Token, numeric: bool) -> tuple[str, ...]:
        if self.peek().kind != "LPAREN":
            self.expected("'('")
        opening = self.advance()
        values = [self.scalar(ident, numeric)]
        while self.peek().kind == "COMMA":
            self.advance()
            values.append(self.scalar(ident, numeric))
        self.close(opening, "',' or ')'")
        return tuple(str(v) for v in values)


def _combine(cls: type[And] | type[Or], items: list[Node]) -> Node:
    if len(items) == 1:
        return items[0]
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, cls) else (item,))
    return cls(tuple(flat))


def _ends_with_escape(pattern: str) -> bool:
    """Whether a LIKE pattern ends in an unpaired backslash (PostgreSQL rejects those)."""
    return (len(pattern) - len(pattern.rstrip("\\"))) % 2 == 1


# --- public API -------------------------------------------------------------------------------


def attribute_names(kind: Kind) -> frozenset[str]:
    """The canonical attribute names of a kind: what ``Comparison.key`` and ``OrderKey.key``
    carry for attributes (aliases resolved)."""
    return frozenset(a.name for a in _LANGUAGES[kind].attributes.values())


def parse_filter(text: str | None, kind: Kind = "runs") -> Node | None:
    """The filter's syntax tree, or None for no filter (None, empty or only whitespace)."""
    if text is None or not text.strip():
        return None
    parser = _Parser(text, kind, "filter")
    node = parser.or_expr()
    if not parser.at_end():
        tok = parser.peek()
        parser.fail(
            f"unexpected {_show(tok)}", tok.pos, "expected AND, OR or the end of the filter"
        )
    return node


def parse_order_by(items: Iterable[str] | None, kind: Kind = "runs") -> list[OrderKey]:
    """One OrderKey per clause such as ``"metrics.loss DESC"`` (ascending by default)."""
    return [_parse_order_clause(item, kind) for item in items or ()]


def _parse_order_clause(item: str, kind: Kind) -> OrderKey:
    if not isinstance(item, str):
        raise CairnError.invalid(f"Invalid order_by clause {item!r}: expected a string")
    parser = _Parser(item, kind, "order_by clause")
    ident, entity_type, key, _ = parser.identifier("an attribute, metric, param or tag")
    if entity_type not in parser.lang.orderable:
        parser.fail(f"cannot order by {_show(ident)}", ident.pos)
    ascending = True
    tok = parser.peek()
    if tok.kind == "WORD" and str(tok.value).upper() in ("ASC", "DESC"):
        ascending = str(tok.value).upper() == "ASC"
        parser.advance()
    elif not parser.at_end():
        parser.expected("ASC or DESC")
    if not parser.at_end():
        parser.expected("the end of the clause")
    return OrderKey(entity_type, key, ascending)
