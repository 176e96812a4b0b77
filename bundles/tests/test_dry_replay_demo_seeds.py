"""Dry replay over hundreds of seeded demo traces: every scenario and seed re-runs and matches its recording."""

import pytest
from tracefoundry.demo import ALL_SCENARIOS, send_demo_traces

from bundles.dry_replay import dry_replay_stored

pytestmark = pytest.mark.django_db(transaction=True)

TRACES_PER_SCENARIO = 40


def test_every_scenario_and_seed_replays_with_the_same_structure(live_server, ingest_key: str) -> None:
    trace_ids = []
    for scenario in ALL_SCENARIOS:
        load = send_demo_traces(
            traces=TRACES_PER_SCENARIO,
            seed=f"replay-{scenario}",
            scenario=scenario,
            url=live_server.url,
            ingest_key=ingest_key,
        )
        assert load.spans_failed == 0
        trace_ids += load.trace_ids

    reports = [dry_replay_stored(trace_id) for trace_id in trace_ids]

    assert len(set(trace_ids)) == TRACES_PER_SCENARIO * len(ALL_SCENARIOS)
    assert [report.as_dict() for report in reports if not report.ok] == []
    reruns = [next(check for check in report.checks if check.name == "agent_rerun") for report in reports]
    assert [check.detail for check in reruns if check.skipped or "same structure" not in check.detail] == []
