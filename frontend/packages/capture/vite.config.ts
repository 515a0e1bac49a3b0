/// <reference types="vitest/config" />
import { gzipSync } from "node:zlib";
import { defineConfig, type Plugin } from "vite";

/** The budget of the SDK's own code, gzipped (socket.io-client, a peer dependency, not counted). */
export const GZIP_BUDGET_BYTES = 30 * 1024;

/** Fails the build when the ES module (without socket.io-client) outgrows its budget. */
function sizeBudget(): Plugin {
  return {
    name: "bbauth-size-budget",
    apply: "build",
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== "chunk") continue;
        const gzipped = gzipSync(chunk.code).length;
        this.info(`${chunk.fileName}: ${chunk.code.length} B, ${gzipped} B gzipped (budget ${GZIP_BUDGET_BYTES} B)`);
        if (gzipped > GZIP_BUDGET_BYTES) this.error(`${chunk.fileName} is ${gzipped} B gzipped, over ${GZIP_BUDGET_BYTES} B`);
      }
    },
  };
}

// Two builds from one entry: `vite build`, the ES module for bundlers (socket.io-client left to
// the page's own copy); `vite build --mode script`, one classic script exposing window.BBAuth
// with socket.io-client inside, for a <script> tag or a proxy that injects it (served by
// bbauth at /sdk/capture.js).
export default defineConfig(({ mode }) => {
  const script = mode === "script";
  return {
    plugins: script ? [] : [sizeBudget()],
    build: {
      outDir: "dist",
      emptyOutDir: !script,
      sourcemap: false,
      minify: true,
      lib: {
        entry: "src/index.ts",
        name: "BBAuth",
        formats: script ? ["iife"] : ["es"],
        fileName: () => (script ? "capture.js" : "bbauth-capture.js"),
      },
      rollupOptions: script ? {} : { external: ["socket.io-client"] },
    },
    test: {
      environment: "jsdom",
      include: ["src/**/*.test.ts"],
      restoreMocks: true,
      testTimeout: 20_000,
    },
  };
});
