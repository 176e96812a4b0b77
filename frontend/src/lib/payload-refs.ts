/**
 * The payload-ref convention, the explorer's one copy of it. A span names each payload taken out of it by two
 * attributes: `tracefoundry.payload.<role>_ref` = `ref:<64 lowercase hex>` (opaque: the content hash encrypted by
 * the server; spans stored by SDK-side tools and older servers say `sha256:<64 lowercase hex>`, read here) and
 * `tracefoundry.payload.<role>_size`
 * = its size in bytes, where a role is 1 to 48 of `[a-z0-9_]`. The server's payloads module owns the convention;
 * both are tested against the same golden fixtures (`payloads/tests/fixtures/payload_refs.json`).
 */

import type { Attributes, PayloadRef } from "./api-types";

const KEY_PREFIX = "tracefoundry.payload.";
const REF_KEY = /^tracefoundry\.payload\.([a-z0-9_]{1,48})_ref$/;
const REF_PREFIX = "sha256:";
const REF_VALUE = /^sha256:[0-9a-f]{64}$/;
const SIZE_TEXT = /^[0-9]+$/;

/** One ref named on a span: its role, the hex digest and the size the span states (null when it states none). */
export interface SpanRef {
  role: string;
  hash: string;
  size: number | null;
}

export function refKey(role: string): string {
  return `${KEY_PREFIX}${role}_ref`;
}

export function sizeKey(role: string): string {
  return `${KEY_PREFIX}${role}_size`;
}

export function isPayloadRef(value: unknown): value is string {
  return typeof value === "string" && REF_VALUE.test(value);
}

/** The refs a span's attributes name, in the order of its attributes (as the server lists them). */
export function refsOfSpan(attributes: Attributes | null | undefined): SpanRef[] {
  const refs: SpanRef[] = [];
  for (const [key, value] of Object.entries(attributes ?? {})) {
    const role = REF_KEY.exec(key)?.[1];
    if (role && isPayloadRef(value)) {
      refs.push({ role, hash: value.slice(REF_PREFIX.length), size: sizeOf(attributes?.[sizeKey(role)]) });
    }
  }
  return refs;
}

function sizeOf(value: unknown): number | null {
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? value : null;
  return typeof value === "string" && SIZE_TEXT.test(value) ? Number(value) : null;
}

/**
 * The refs the inspector shows: the API's list (the span's detail once loaded, which also reports refs whose
 * content expired or never arrived), plus any ref named on the span that the API did not list, shown as missing
 * so that no ref is silently left out.
 */
export function payloadRefsOf(
  listed: PayloadRef[] | null | undefined,
  detailed: PayloadRef[] | null | undefined,
  attributes: Attributes | null | undefined,
): PayloadRef[] {
  const fromApi = detailed ?? listed ?? [];
  const known = new Set(fromApi.map((ref) => `${ref.role} ${ref.ref}`));
  const unlisted = refsOfSpan(attributes)
    .filter((ref) => !known.has(`${ref.role} ${REF_PREFIX}${ref.hash}`))
    .map(
      (ref): PayloadRef => ({
        ref: `${REF_PREFIX}${ref.hash}`,
        role: ref.role,
        attribute: refKey(ref.role),
        size_bytes: ref.size,
        content_type: null,
        status: "missing",
      }),
    );
  return unlisted.length > 0 ? [...fromApi, ...unlisted] : fromApi;
}
