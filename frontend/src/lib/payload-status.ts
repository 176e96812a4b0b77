/**
 * What the explorer says about a payload ref's `status` from the API: `stored` content can be loaded; an
 * `expired` or `missing` one has no content on this server, so it is labelled as such and never requested.
 */

import type { PayloadStatus } from "./api-types";

export interface PayloadAvailability {
  loadable: boolean;
  label: string;
  explanation: string;
}

// A Record over the generated enum: a status the API adds fails the typecheck until it is described here.
const AVAILABILITY: Record<PayloadStatus, PayloadAvailability> = {
  stored: { loadable: true, label: "stored", explanation: "" },
  expired: {
    loadable: false,
    label: "expired",
    explanation: "Payload retention deleted this content; the span keeps its ref, hash and size.",
  },
  missing: {
    loadable: false,
    label: "missing",
    explanation: "This content was never stored here (its upload did not arrive, or it came in a bundle without payloads).",
  },
};

export function payloadAvailability(status: PayloadStatus): PayloadAvailability {
  return AVAILABILITY[status];
}
