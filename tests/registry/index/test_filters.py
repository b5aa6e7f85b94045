"""Parsing of the model list's query parameters (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from registry.index.filters import (
    AnnotationFilter,
    Cursor,
    InvalidQuery,
    MetricFilter,
    ModelQuery,
    parse_annotation,
    parse_metric,
    parse_model_query,
)
from registry.index.queries import like_pattern


def test_no_parameters_is_the_default_query() -> None:
    assert parse_model_query([]) == ModelQuery()


def test_every_filter() -> None:
    query = parse_model_query(
        [
            ("q", " llama "),
            ("name", "xyz*"),
            ("repository", "team/*"),
            ("family", "modelpack"),
            ("framework", "PyTorch"),
            ("format", "gguf"),
            ("architecture", "llama"),
            ("license", "MIT"),
            ("author", "jozu"),
            ("quantization", "Q4_K_M"),
            ("params_min", "7b"),
            ("params_max", "70 billion"),
            ("metric", "accuracy>=0.9"),
            ("metric", "training.loss < 1e-2"),
            ("annotation", "org.example=a=b"),
            ("annotation", "org.example.flag"),
            ("include_referrers", "true"),
            ("limit", "10"),
        ]
    )
    assert query == ModelQuery(
        text="llama",
        name="xyz*",
        repository="team/*",
        family="modelpack",
        framework="PyTorch",
        model_format="gguf",
        architecture="llama",
        license="MIT",
        author="jozu",
        quantization="Q4_K_M",
        params_min=7_000_000_000,
        params_max=70_000_000_000,
        metrics=(MetricFilter("accuracy", ">=", 0.9), MetricFilter("training.loss", "<", 0.01)),
        annotations=(
            AnnotationFilter("org.example", "a=b"),
            AnnotationFilter("org.example.flag", None),
        ),
        include_referrers=True,
        limit=10,
    )


def test_empty_values_mean_no_filter() -> None:
    assert parse_model_query([("q", ""), ("name", "  "), ("params_min", ""), ("cursor", "")]) == (
        ModelQuery()
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("acc>=0.9", MetricFilter("acc", ">=", 0.9)),
        ("acc<=1", MetricFilter("acc", "<=", 1.0)),
        ("acc>0", MetricFilter("acc", ">", 0.0)),
        ("acc<-3.5", MetricFilter("acc", "<", -3.5)),
        ("acc=0.5", MetricFilter("acc", "=", 0.5)),
        (" eval set.top 5 > 0.1 ", MetricFilter("eval set.top 5", ">", 0.1)),
        ("*.f1>=0.8", MetricFilter("*.f1", ">=", 0.8)),
    ],
)
def test_metric(text: str, expected: MetricFilter) -> None:
    assert parse_metric(text) == expected


@pytest.mark.parametrize(
    "text", ["acc", "acc>=", ">=1", "acc=>1", "acc>=1>=2", "acc!=1", "a>=1e999"]
)
def test_bad_metric(text: str) -> None:
    with pytest.raises(InvalidQuery) as raised:
        parse_metric(text)
    assert raised.value.parameter == "metric"


def test_annotation() -> None:
    assert parse_annotation("k=") == AnnotationFilter("k", "")
    assert parse_annotation("k") == AnnotationFilter("k", None)
    with pytest.raises(InvalidQuery):
        parse_annotation("=v")


def test_cursor_round_trip() -> None:
    cursor = Cursor(datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "team/cnn", "sha256:" + "a" * 64)
    text = cursor.encode()
    assert "=" not in text
    assert Cursor.decode(text) == cursor
    assert parse_model_query([("cursor", text)]).cursor == cursor


@pytest.mark.parametrize(
    "text",
    [
        "!!!",
        "e30",  # {}
        "WyJ4IiwgImEiLCAiYiJd",  # ["x", "a", "b"]
        "WyIyMDI1LTAxLTAyVDAzOjA0OjA1IiwgImEiLCAiYiJd",  # naive time
        "WyIyMDI1LTAxLTAyVDAzOjA0OjA1KzAwOjAwIiwgMSwgImIiXQ",  # repository not a string
    ],
)
def test_bad_cursor(text: str) -> None:
    with pytest.raises(InvalidQuery) as raised:
        Cursor.decode(text)
    assert raised.value.parameter == "cursor"


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ([("licence", "MIT")], "licence"),
        ([("family", "x")], "family"),
        ([("limit", "0")], "limit"),
        ([("limit", "-1")], "limit"),
        ([("limit", "1.5")], "limit"),
        ([("params_max", "eight")], "params_max"),
        ([("params_min", "2"), ("params_max", "1")], "params_min"),
        ([("include_referrers", "2")], "include_referrers"),
        ([("repository", "a"), ("repository", "b")], "repository"),
    ],
)
def test_bad_parameters(params: list[tuple[str, str]], parameter: str) -> None:
    with pytest.raises(InvalidQuery) as raised:
        parse_model_query(params)
    assert raised.value.parameter == parameter
    assert raised.value.detail()["parameter"] == parameter


def test_like_pattern_escapes_wildcards() -> None:
    assert like_pattern("a_b%c\\d") == "a\\_b\\%c\\\\d"
    assert like_pattern("team/*") == "team/%"
    assert like_pattern("x*", glob=False, contains=True) == "%x*%"
