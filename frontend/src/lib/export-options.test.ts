import { describe, expect, it } from "vitest";

import type { Permissions } from "./api-types";
import { exportOptions } from "./export-options";

const engineer: Permissions = {
  view_traces: true,
  read_payload_content: true,
  export_bundles: true,
  export_with_payloads: true,
  export_unredacted: false,
  import_bundles: true,
  dry_replay: true,
  admin_site: false,
};
const viewer: Permissions = { ...engineer, read_payload_content: false, export_with_payloads: false, import_bundles: false, dry_replay: false };

describe("exportOptions", () => {
  it("does not offer payloads while strict is chosen, and says why", () => {
    const options = exportOptions(engineer, "engineer", { includePayloads: false, redaction: "strict" });
    expect(options.includePayloads).toEqual({
      allowed: false,
      reasons: ["Strict bundles carry no payloads: choose standard or off redaction to include them."],
    });
    expect(options.redaction.strict.allowed).toBe(true);
    expect(options.redaction.standard.allowed).toBe(true);
  });

  it("does not offer strict while payloads are included, and says why", () => {
    const options = exportOptions(engineer, "engineer", { includePayloads: true, redaction: "standard" });
    expect(options.includePayloads).toEqual({ allowed: true, reasons: [] });
    expect(options.redaction.strict).toEqual({
      allowed: false,
      reasons: ["Strict bundles carry no payloads: clear “Include payloads” first."],
    });
    expect(options.redaction.off).toEqual({
      allowed: false,
      reasons: ["Only admins may export unredacted bundles (you are engineer)."],
    });
  });

  it("gives a viewer every reason payloads are out of reach", () => {
    const options = exportOptions(viewer, "viewer", { includePayloads: false, redaction: "strict" });
    expect(options.includePayloads.reasons).toEqual([
      "Needs the engineer or admin role (you are viewer).",
      "Strict bundles carry no payloads: choose standard or off redaction to include them.",
    ]);
    expect(options.redaction.standard.allowed).toBe(false);
    expect(options.redaction.strict.allowed).toBe(true);
  });
});
