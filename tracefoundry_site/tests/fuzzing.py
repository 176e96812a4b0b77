"""What every fuzz test shares: how many cases to run, and a tally of cases and 500s printed after the run.

`FUZZ_EXAMPLES` (default 25) is hypothesis's `max_examples` for each fuzz test that calls decoders in process,
`FUZZ_HTTP_EXAMPLES` (default 10) for each one that goes through the app and its database (a hundred times
slower a case): a few seconds in the normal suite, as long as wanted under `make fuzz`. Each test records every
case it sends through `record`, which fails the case (so hypothesis shrinks it) when the answer is a 500;
`conftest.py` prints the tally at the end of the session as `fuzz: N cases, M answered 500`.
"""

import os
import sys
from collections import Counter

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
HTTP_EXAMPLES = int(os.environ.get("FUZZ_HTTP_EXAMPLES", "10"))

_PROGRESS_EVERY = 5_000

CASES: Counter[str] = Counter()
SERVER_ERRORS: Counter[str] = Counter()

_HEALTH_CHECKS_OFF = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.function_scoped_fixture,
    HealthCheck.large_base_example,
]
# database=None: no .hypothesis folder in the work tree; every run explores afresh.
fuzz_settings = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=_HEALTH_CHECKS_OFF)
http_fuzz_settings = settings(
    max_examples=HTTP_EXAMPLES, deadline=None, database=None, suppress_health_check=_HEALTH_CHECKS_OFF
)


def record(target: str, status: int, detail: object = "") -> None:
    """Count one case of `target` answered with `status`; a 500 fails it."""
    CASES[target] += 1
    total = sum(CASES.values())
    if total % _PROGRESS_EVERY == 0 and sys.__stderr__ is not None:
        # Past pytest's capture: a long `make fuzz` shows it is moving.
        sys.__stderr__.write(f"fuzz progress: {total} cases, {sum(SERVER_ERRORS.values())} answered 500\n")
    if status >= 500:
        SERVER_ERRORS[target] += 1
        raise AssertionError(f"{target} answered {status}: {detail!r}"[:2000])


def summary_lines() -> list[str]:
    if not CASES:
        return []
    lines = [f"fuzz: {sum(CASES.values())} cases, {sum(SERVER_ERRORS.values())} answered 500"]
    lines += [
        f"  {target}: {count} cases, {SERVER_ERRORS[target]} answered 500" for target, count in sorted(CASES.items())
    ]
    return lines
