/**
 * Which export options may be chosen, and why not: the role's permissions (from `/api/me`), and the rule that a
 * strict bundle carries no payloads, which the server enforces too. Every disabled option says why.
 */

import type { Permissions, RedactionMode } from "./api-types";

export const STRICT_CARRIES_NO_PAYLOADS = "Strict bundles carry no payloads";

export interface ExportOption {
  allowed: boolean;
  reasons: string[];
}

export interface ExportOptions {
  includePayloads: ExportOption;
  redaction: Record<RedactionMode, ExportOption>;
}

function option(...reasons: (string | false)[]): ExportOption {
  const given = reasons.filter((reason): reason is string => reason !== false);
  return { allowed: given.length === 0, reasons: given };
}

export function exportOptions(
  permissions: Permissions,
  role: string,
  chosen: { includePayloads: boolean; redaction: RedactionMode },
): ExportOptions {
  const needsEngineer = !permissions.export_with_payloads && `Needs the engineer or admin role (you are ${role}).`;
  return {
    includePayloads: option(
      needsEngineer,
      chosen.redaction === "strict" && `${STRICT_CARRIES_NO_PAYLOADS}: choose standard or off redaction to include them.`,
    ),
    redaction: {
      strict: option(chosen.includePayloads && `${STRICT_CARRIES_NO_PAYLOADS}: clear “Include payloads” first.`),
      standard: option(needsEngineer),
      off: option(!permissions.export_unredacted && `Only admins may export unredacted bundles (you are ${role}).`),
    },
  };
}
