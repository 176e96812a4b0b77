"""Values out of their column's range, stored before ingest checked them, are cleared, then check constraints
keep them out: a span's mapped token counts, cost and retry count, and a trace's saturated sums."""

from decimal import Decimal

from django.db import migrations, models
from django.db.models import Q

MAX_TOKENS = 10**12
MAX_RETRIES = 2**31 - 1
MAX_COST_USD = Decimal(10**9)
MAX_TRACE_TOKENS = 2**53 - 1


def clear_out_of_range_values(apps, schema_editor):
    # Updates only: reading such a row is what failed (SQLite cannot convert a cost of 1e30 to the column's
    # decimal), so nothing is read here.
    Span = apps.get_model("traces", "Span")
    Trace = apps.get_model("traces", "Trace")
    for column in ("input_tokens", "output_tokens", "total_tokens"):
        Span.objects.filter(Q(**{f"{column}__lt": 0}) | Q(**{f"{column}__gt": MAX_TOKENS})).update(**{column: 0})
        Trace.objects.filter(**{f"{column}__lt": 0}).update(**{column: 0})
        Trace.objects.filter(**{f"{column}__gt": MAX_TRACE_TOKENS}).update(**{column: MAX_TRACE_TOKENS})
    Span.objects.filter(Q(cost_usd__lt=0) | Q(cost_usd__gt=MAX_COST_USD)).update(cost_usd=Decimal(0))
    Trace.objects.filter(cost_usd__lt=0).update(cost_usd=Decimal(0))
    Trace.objects.filter(cost_usd__gt=MAX_COST_USD).update(cost_usd=MAX_COST_USD)
    Span.objects.filter(Q(retry_count__lt=0) | Q(retry_count__gt=MAX_RETRIES)).update(retry_count=0)
    Trace.objects.filter(retry_count__lt=0).update(retry_count=0)
    Trace.objects.filter(retry_count__gt=MAX_RETRIES).update(retry_count=MAX_RETRIES)


class Migration(migrations.Migration):
    dependencies = [
        ("traces", "0004_incremental_summaries"),
    ]

    operations = [
        migrations.RunPython(clear_out_of_range_values, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="span",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("cost_usd__range", (0, MAX_COST_USD)),
                    ("input_tokens__range", (0, MAX_TOKENS)),
                    ("output_tokens__range", (0, MAX_TOKENS)),
                    ("retry_count__range", (0, MAX_RETRIES)),
                    ("total_tokens__range", (0, MAX_TOKENS)),
                ),
                name="spans_mapped_values_in_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="trace",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("cost_usd__range", (0, MAX_COST_USD)),
                    ("input_tokens__range", (0, MAX_TRACE_TOKENS)),
                    ("output_tokens__range", (0, MAX_TRACE_TOKENS)),
                    ("retry_count__range", (0, MAX_RETRIES)),
                    ("total_tokens__range", (0, MAX_TRACE_TOKENS)),
                ),
                name="traces_totals_in_range",
            ),
        ),
    ]
