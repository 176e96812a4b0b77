import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

const frontend = fileURLToPath(new URL("../..", import.meta.url));

// The schema's own drift from the server is checked by tracefoundry_site/tests/test_openapi_schema.py.
describe("api-schema.d.ts", () => {
  it("is what openapi-typescript generates from the committed openapi.yaml (run `make openapi`)", () => {
    const dir = mkdtempSync(join(tmpdir(), "api-schema-"));
    try {
      const generated = join(dir, "api-schema.d.ts");
      execFileSync(join(frontend, "node_modules/.bin/openapi-typescript"), ["openapi.yaml", "-o", generated], {
        cwd: frontend,
        stdio: "pipe",
      });
      expect(readFileSync(join(frontend, "src/lib/api-schema.d.ts"), "utf-8")).toBe(readFileSync(generated, "utf-8"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
