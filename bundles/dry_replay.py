"""Dry replay: check a stored trace or a bundle file without writing anything, and report what was found.

Checks, in report order:
- `bundle_files` (bundles only): every file listed in the manifest present with its sha256 and size, no
  unlisted file, spans of the manifest's trace and as many as it says;
- `span_tree`, `timing`, `clock_skew`: see `bundles.replay_checks`;
- `payload_refs`: every `tracefoundry.payload.<role>_ref` on a span resolves to a stored blob (stored trace)
  or to a payload file of the bundle (skipped for a bundle exported without payloads);
- `payload_hashes`: every payload's content hashes to its name (stored blobs are read back and decompressed);
- `agent_rerun`: for traces the demo agent produced, the agent is run again with the recorded tool outputs
  instead of live tools, and its spans are compared with the recorded ones span by span (skipped otherwise).

Nothing is written: stored traces are only read, a bundle is only read in memory, and the re-run exports its
spans to memory.
"""

from typing import IO

from bundles import agent_rerun, payload_access
from bundles.archive import read_archive
from bundles.contracts import ReplayReport
from bundles.imports import configured_limits
from bundles.queries import stored_spans
from bundles.replay_checks import DEFAULT_TOLERANCE_NS, Check, build_tree, timing_checks, tree_check
from bundles.verification import inspect_bundle
from payloads import refs
from payloads.contracts import OtlpSpan


def dry_replay_stored(trace_id: str, tolerance_ns: int = DEFAULT_TOLERANCE_NS) -> ReplayReport:
    """The dry-replay report of a stored trace (Trace.DoesNotExist if there is none)."""
    spans = stored_spans(trace_id)
    span_refs = _refs(spans)
    stored = payload_access.check_stored(set(span_refs.values()))
    checks = [*_span_checks(spans, tolerance_ns)]
    checks.append(_refs_check(span_refs, stored.resolved, source="the payload store"))
    checks.append(_hashes_check(stored.problems, len(stored.resolved)))
    rerun = agent_rerun.rerun(spans, stored.contents)
    checks.append(rerun.check)
    return ReplayReport(trace_id, "stored", len(spans), tuple(checks), rerun.differences)


def dry_replay_bundle(upload: IO[bytes], size_bytes: int, tolerance_ns: int = DEFAULT_TOLERANCE_NS) -> ReplayReport:
    """The dry-replay report of a bundle file (BundleRefused if it is not a readable bundle at all)."""
    contents = inspect_bundle(read_archive(upload, size_bytes, configured_limits()))
    manifest = contents.manifest
    spans = list(contents.spans)
    listing = contents.problems_of("file") + contents.problems_of("spans")
    checks = [
        Check(
            "bundle_files",
            not listing,
            f"manifest format {manifest.format_version}, {len(manifest.files)} file(s) listed, "
            f"redaction {manifest.redaction}, "
            f"payloads {'included' if manifest.payloads_included else 'not included'}",
            tuple(listing),
        ),
        *_span_checks(spans, tolerance_ns),
    ]
    span_refs = _refs(spans)
    if manifest.payloads_included:
        checks.append(_refs_check(span_refs, set(contents.payloads), source="the bundle"))
    else:
        checks.append(
            Check(
                "payload_refs",
                True,
                f"bundle exported without payloads: {len(span_refs)} ref(s) not resolvable here",
                skipped=True,
            )
        )
    payload_count = len(manifest.payload_entries)
    checks.append(_hashes_check(contents.problems_of("payload"), payload_count))
    rerun = agent_rerun.rerun(spans, {sha: payload.content for sha, payload in contents.payloads.items()})
    checks.append(rerun.check)
    return ReplayReport(manifest.trace_id, "bundle", len(spans), tuple(checks), rerun.differences)


def _span_checks(spans: list[OtlpSpan], tolerance_ns: int) -> list[Check]:
    tree = build_tree(spans)
    return [tree_check(tree), *timing_checks(tree, tolerance_ns)]


def _refs(spans: list[OtlpSpan]) -> dict[str, str]:
    """{"<span id> <attribute>": sha256} for every payload ref on the spans."""
    return {f"{span.span_id} {ref.attribute}": ref.sha256 for span in spans for ref in refs.refs_of(span.attributes)}


def _refs_check(span_refs: dict[str, str], available: set[str], source: str) -> Check:
    missing = [
        f"span {where}: {refs.ref_value(sha)} not found in {source}"
        for where, sha in sorted(span_refs.items())
        if sha not in available
    ]
    distinct = len(set(span_refs.values()))
    return Check(
        "payload_refs",
        not missing,
        f"{len(span_refs)} ref(s) to {distinct} payload(s): "
        f"{len(span_refs) - len(missing)} resolved, {len(missing)} unresolved",
        tuple(missing),
    )


def _hashes_check(problems: list[str], checked: int) -> Check:
    return Check(
        "payload_hashes",
        not problems,
        f"{checked} payload(s) hashed: {len(problems)} mismatch(es)",
        tuple(problems),
    )
