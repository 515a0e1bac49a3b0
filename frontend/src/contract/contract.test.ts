import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// A string, not a URL: jsdom's URL class is not the one node:url accepts.
const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

describe("the generated contract types", () => {
  it("are what the checked-in OpenAPI and AsyncAPI documents generate (npm run contract)", () => {
    // The documents themselves are checked against the server by pytest (tests/app/test_contract.py).
    let output = "";
    try {
      output = execFileSync(process.execPath, ["scripts/contract.mjs", "--check"], {
        cwd: FRONTEND,
        encoding: "utf8",
        stdio: "pipe",
      });
    } catch (err) {
      const { stderr, stdout } = err as { stderr?: string; stdout?: string };
      expect.fail(`${stdout ?? ""}${stderr ?? ""}`);
    }
    expect(output).toContain("nothing differs");
  });
});
