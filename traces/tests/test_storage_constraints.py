"""The database itself refuses ids that are not lowercase hex of the right length (both databases)."""

import pytest
from django.db import IntegrityError, transaction

from traces.models import Span, Trace

BAD_TRACE_IDS = ["A" * 32, "a" * 31, "a" * 31 + "g", "a" * 31 + "\n"]
BAD_SPAN_IDS = ["B" * 16, "b" * 15, "b" * 15 + "z", "b" * 15 + "\n"]


@pytest.mark.django_db
@pytest.mark.parametrize("trace_id", BAD_TRACE_IDS)
def test_a_trace_id_is_32_lowercase_hex_digits(trace_id: str) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Trace.objects.create(trace_id=trace_id)
    Trace.objects.create(trace_id="0123456789abcdef" * 2)


@pytest.mark.django_db
@pytest.mark.parametrize("span_id", BAD_SPAN_IDS)
def test_a_span_id_is_16_lowercase_hex_digits(span_id: str) -> None:
    trace = Trace.objects.create(trace_id="0123456789abcdef" * 2)
    with pytest.raises(IntegrityError), transaction.atomic():
        Span.objects.create(trace=trace, span_id=span_id, name="s", start_unix_nano=1, end_unix_nano=2, duration_ns=1)
    Span.objects.create(
        trace=trace, span_id="0123456789abcdef", name="s", start_unix_nano=1, end_unix_nano=2, duration_ns=1
    )
