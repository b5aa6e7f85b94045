"""Parameter counts, RFC 3339 times and to_json(), with seeded property-style checks."""

from __future__ import annotations

import json
import random
import string
from datetime import UTC, datetime, timedelta, timezone

import pytest

from registry.index.extract import ModelRecord, parse_parameter_count, parse_rfc3339
from registry.index.extract.values import MAX_PARAMETER_COUNT, flatten_numeric, to_float

UNITS = {"k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}
SEEDS = range(5)


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("8b", 8_000_000_000),
        ("8B", 8_000_000_000),
        ("7.5B", 7_500_000_000),
        ("350m", 350_000_000),
        ("350M", 350_000_000),
        ("1.2T", 1_200_000_000_000),
        ("0.5b", 500_000_000),
        ("125k", 125_000),
        ("361.82 M", 361_820_000),  # docker model-runner before normalizeUnitString
        ("361.82M", 361_820_000),
        ("8.03B", 8_030_000_000),
        (" 70 billion ", 70_000_000_000),
        ("1.5 Billion params", 1_500_000_000),
        ("3 million parameters", 3_000_000),
        ("1,000,000", 1_000_000),
        ("1_000", 1_000),
        ("7e9", 7_000_000_000),
        ("1.1e3k", 1_100_000),
        (".5k", 500),
        ("12", 12),
        (8_000_000_000, 8_000_000_000),
        (7.0, 7),
        (0, 0),
    ],
)
def test_parameter_count_examples(text: object, count: int) -> None:
    assert parse_parameter_count(text) == count


@pytest.mark.parametrize(
    "text",
    [
        "", " ", "b", "8x7b", "8b-instruct", "-1", "-8b", "8.5", "1e99b", "NaN", "inf", "8 gb",
        "eight billion", "8bb", "1.2.3b", "0x10", "8 b b", "8" * 80 + "b",
        -1, 7.5, float("nan"), float("inf"), True, None, [8], {"b": 8}, 2**63,
    ],
)  # fmt: skip
def test_parameter_count_rejects(text: object) -> None:
    assert parse_parameter_count(text) is None


@pytest.mark.parametrize("seed", SEEDS)
def test_parameter_count_integers_round_trip(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(500):
        n = rng.randrange(0, 10 ** rng.randint(1, 18))
        assert parse_parameter_count(n) == n
        assert parse_parameter_count(str(n)) == n
        assert parse_parameter_count(f"{n:,}") == n
        assert parse_parameter_count(float(n)) == (n if float(n) == n else int(float(n)))


@pytest.mark.parametrize("seed", SEEDS)
def test_parameter_count_decimal_with_unit_is_exact(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(500):
        unit, scale = rng.choice(list(UNITS.items()))
        decimals = rng.randint(0, 3)
        mantissa = rng.randrange(0, 100_000)
        number = f"{mantissa // 10**decimals}" + (
            f".{mantissa % 10**decimals:0{decimals}d}" if decimals else ""
        )
        text = number + rng.choice(["", " ", "  "]) + rng.choice([unit, unit.upper()])
        assert parse_parameter_count(text) == mantissa * scale // 10**decimals, text


@pytest.mark.parametrize("seed", SEEDS)
def test_parameter_count_units_scale_by_thousand(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(300):
        number = f"{rng.uniform(0, 999):.{rng.randint(0, 3)}f}"
        k, m, b, t = (parse_parameter_count(number + u) for u in "kmbt")
        assert None not in (k, m, b, t)
        assert m == pytest.approx(1000 * (k or 0), abs=1)
        assert b == 1000 * (m or 0)
        assert t == 1000 * (b or 0)


@pytest.mark.parametrize("seed", SEEDS)
def test_parameter_count_reads_docker_format_parameters(seed: int) -> None:
    """format.go formatParameters: units.CustomSize("%.2f%s", n, 1000, ["", K, M, B, T])."""
    rng = random.Random(seed)
    for _ in range(500):
        n = rng.randrange(1, 10**13)
        value, index = float(n), 0
        while value >= 1000 and index < 4:
            value, index = value / 1000, index + 1
        text = f"{value:.2f}{['', 'K', 'M', 'B', 'T'][index]}"
        parsed = parse_parameter_count(text)
        assert parsed is not None
        assert abs(parsed - n) <= 0.006 * 1000**index, (n, text, parsed)


@pytest.mark.parametrize("seed", SEEDS)
def test_parameter_count_never_raises(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = string.digits + "kmbtKMBT.,_ e+-x" + string.ascii_letters
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        result = parse_parameter_count(text)
        assert result is None or 0 <= result <= MAX_PARAMETER_COUNT


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2025-01-01T00:00:00Z", datetime(2025, 1, 1, tzinfo=UTC)),
        ("2015-10-31T22:22:56.015925234Z", datetime(2015, 10, 31, 22, 22, 56, 15925, tzinfo=UTC)),
        ("2020-06-18t10:20:30+08:00", datetime(2020, 6, 18, 2, 20, 30, tzinfo=UTC)),
        ("2020-06-18 10:20:30-05:30", datetime(2020, 6, 18, 15, 50, 30, tzinfo=UTC)),
        ("2024-05-21", datetime(2024, 5, 21, tzinfo=UTC)),
        ("2024-05-21T01:02:03", datetime(2024, 5, 21, 1, 2, 3, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_rfc3339_examples(text: str, moment: datetime) -> None:
    parsed = parse_rfc3339(text)
    assert parsed == moment
    assert parsed is not None
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    "text",
    ["", "0001-01-01T00:00:00Z", "2024-13-01", "2024-02-30T00:00:00Z", "20240521", "2024-W21",
     "2024-05-21T25:00:00Z", "2024-05-21T00:00:00+24:00", "yesterday", "2024-05-21T00:00Z"],
)  # fmt: skip
def test_rfc3339_rejects(text: str) -> None:
    assert parse_rfc3339(text) is None


@pytest.mark.parametrize("seed", SEEDS)
def test_rfc3339_round_trips_isoformat(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(500):
        offset = timezone(timedelta(minutes=rng.randrange(-14 * 60, 14 * 60 + 1)))
        moment = datetime(
            rng.randint(2, 9999), rng.randint(1, 12), rng.randint(1, 28),
            rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
            rng.choice([0, rng.randrange(1_000_000)]), tzinfo=offset,
        )  # fmt: skip
        assert parse_rfc3339(moment.isoformat()) == moment


def test_to_float_and_flatten() -> None:
    assert [to_float(v) for v in ("0.928", 1, "1e3", " 2 ", True, "n/a", "nan", 2**2000)] == [
        0.928, 1.0, 1000.0, 2.0, None, None, None, None,
    ]  # fmt: skip
    numeric, other = flatten_numeric({"a": 1, "b": {"c": "2.5", "d": "x"}, "e": None})
    assert numeric == {"a": 1.0, "b.c": 2.5}
    assert other == {"b.d": "x", "e": None}


def test_to_json_is_json() -> None:
    record = ModelRecord(
        family="ormb",
        created=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        metrics={"a": 1.0},
        extra={"n": float("nan"), "t": (1, 2), "s": {3}, "b": b"x", "k": {1: "\x00v"}},
    )
    data = record.to_json()
    assert data["created"] == "2025-01-02T03:04:05+00:00"
    assert data["extra"] == {"n": None, "t": [1, 2], "s": [3], "b": "b'x'", "k": {"1": "v"}}
    assert list(data) == [
        "family", "name", "version", "description", "authors", "licenses", "framework",
        "model_format", "architecture", "parameter_count", "precision", "quantization",
        "metrics", "hyperparameters", "signature", "hardware", "source", "created",
        "tags_hint", "labels", "extra", "parse_errors",
    ]  # fmt: skip
    json.dumps(data, allow_nan=False)
