// @vitest-environment node
// (esbuild, which the build runs, needs Node's own TextEncoder, not jsdom's.)
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build, type Rollup } from "vite";
import { describe, expect, it } from "vitest";
import { GZIP_BUDGET_BYTES } from "../vite.config";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The chunks a build of this package makes in `mode`, in memory. */
async function bundle(mode: string): Promise<Rollup.OutputChunk[]> {
  const result = await build({ root: ROOT, mode, logLevel: "silent", build: { write: false } });
  const outputs = (Array.isArray(result) ? result : [result]) as Rollup.RollupOutput[];
  return outputs.flatMap((o) => o.output.filter((c): c is Rollup.OutputChunk => c.type === "chunk"));
}

describe("The SDK's size", () => {
  it("stays under 30 KiB gzipped without socket.io-client, which the ES module leaves to the page", async () => {
    const [module] = await bundle("production");
    expect(module.imports).toEqual(["socket.io-client"]);
    const gzipped = gzipSync(module.code).length;
    console.info(`bbauth-capture.js: ${gzipped} B gzipped`);
    expect(gzipped).toBeLessThan(GZIP_BUDGET_BYTES);
  });

  it("is one classic script exposing window.BBAuth, socket.io-client inside", async () => {
    const [script] = await bundle("script");
    expect(script.fileName).toBe("capture.js");
    expect(script.imports).toEqual([]);
    expect(script.code).toMatch(/^var BBAuth=/);
    // No module syntax left: a classic <script> would refuse it.
    expect(script.code).not.toMatch(/^\s*(import|export)\s/m);
  });
});
