"""The ranges a span's mapped values must fall in, and reading untrusted numbers into them. Pure: no ORM, no I/O.

A span is stored whenever it can be placed in its trace (ids and times valid, see `traces.otlp`). A value that is
out of range or not a number (a token count of "²" or 10^30, a cost of 1e30 or NaN, a retry count at int64's
maximum, a span kind OTLP does not define) is not stored in its column: the column gets the neutral value (0,
unset, unspecified), the attribute itself stays as it arrived, and the reason is added to the span's
PROBLEMS_ATTRIBUTE. Reasons name the attribute and the accepted range, never the value (it may be a secret).

Sums over a trace saturate at the MAX_TRACE_* values, so no summary can overflow its column or lose precision
in a JSON reader (2^53 - 1 is the largest integer JavaScript holds exactly).
"""

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

PROBLEMS_ATTRIBUTE = "tracefoundry.ingest.problems"

MAX_TOKENS = 10**12
MAX_RETRIES = 2**31 - 1
# Held exactly by the cost columns (20 digits, 10 after the point) and by SQLite's 15-significant-digit REALs.
MAX_COST_USD = Decimal(10**9)
COST_QUANTUM = Decimal("1e-10")

MAX_TRACE_TOKENS = 2**53 - 1
MAX_TRACE_RETRIES = 2**31 - 1
MAX_TRACE_COST_USD = MAX_COST_USD

SPAN_KINDS = range(0, 6)  # UNSPECIFIED, INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER
STATUS_CODES = range(0, 3)  # UNSET, OK, ERROR

_DIGITS = re.compile(r"[0-9]{1,20}")
# A decimal number as text: no NaN or Infinity, at most 40 characters before any exponent is looked at.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
_MAX_DECIMAL_CHARS = 64


def count(value: Any, maximum: int) -> int | None:
    """A whole number from 0 to `maximum`, from an int, an integral-valued float or a string of ASCII digits;
    None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not (0 <= value <= maximum):  # also False for NaN
            return None
        number = int(value)
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if 0 <= number <= maximum else None


def cost(value: Any) -> Decimal | None:
    """A cost in USD from 0 to MAX_COST_USD, rounded to the columns' 10 decimal places; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        text = repr(value)
    elif isinstance(value, str) and len(value) <= _MAX_DECIMAL_CHARS and _DECIMAL.fullmatch(value.strip()):
        text = value.strip()
    else:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite() or not (0 <= number <= MAX_COST_USD):
        return None
    return number.quantize(COST_QUANTUM, rounding=ROUND_HALF_EVEN)


def bounded_cost(number: Decimal) -> Decimal | None:
    """A computed cost rounded to the columns' places, or None when it is past MAX_COST_USD."""
    if not number.is_finite() or not (0 <= number <= MAX_COST_USD):
        return None
    return number.quantize(COST_QUANTUM, rounding=ROUND_HALF_EVEN)


def range_text(maximum: int | Decimal) -> str:
    return f"from 0 to {maximum:,}"
