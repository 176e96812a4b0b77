/**
 * The payload refs of a span. The API lists them in `payload_refs`; spans also carry them as attributes
 * (`tracefoundry.payload.<role>_ref` = `sha256:<hex>`, `tracefoundry.payload.<role>_size`), which is what is
 * read when the list is empty (e.g. an older server), so a ref is never silently missing.
 */

import type { Attributes, PayloadRef } from "./api-types";

const REF_KEY = /^tracefoundry\.payload\.([a-z0-9_]+)_ref$/;
const REF_VALUE = /^sha256:([0-9a-f]{64})$/;

export function refsFromAttributes(attributes: Attributes | null | undefined): PayloadRef[] {
  const refs: PayloadRef[] = [];
  for (const [key, value] of Object.entries(attributes ?? {})) {
    const role = REF_KEY.exec(key)?.[1];
    const sha = typeof value === "string" ? REF_VALUE.exec(value)?.[1] : undefined;
    if (!role || !sha) continue;
    const size = attributes?.[`tracefoundry.payload.${role}_size`];
    refs.push({
      ref: `sha256:${sha}`,
      role,
      attribute: key,
      size_bytes: typeof size === "number" ? size : typeof size === "string" && /^\d+$/.test(size) ? Number(size) : null,
      content_type: "",
      sha256: sha,
    });
  }
  return refs.sort((a, b) => a.role.localeCompare(b.role));
}

export function payloadRefsOf(
  listed: PayloadRef[] | null | undefined,
  detailed: PayloadRef[] | null | undefined,
  attributes: Attributes | null | undefined,
): PayloadRef[] {
  if (detailed && detailed.length > 0) return detailed;
  if (listed && listed.length > 0) return listed;
  return refsFromAttributes(attributes);
}
