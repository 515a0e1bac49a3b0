/// <reference types="vitest/config" />
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

// The API's documentation page (/api/docs, served by the backend) loads Swagger UI from here:
// the pinned swagger-ui-dist package copied into the build, never a CDN.
function apiDocsAssets(): Plugin {
  const dist = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  return {
    name: "bbauth-api-docs-assets",
    apply: "build",
    writeBundle(options) {
      const target = join(options.dir ?? "dist", "api-docs");
      mkdirSync(target, { recursive: true });
      for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
        copyFileSync(join(dist, file), join(target, file));
      }
    },
  };
}

// The API and the Socket.IO channel live on the Quart app (bbauth serve, port 5001); in
// development the Vite server forwards to it so the browser sees one origin, as in production.
// The Host header is passed on as the browser sent it: DPoP proofs name the URL the browser
// used (htu), and the socket's origin check compares the page's origin with it.
const backend = process.env.BBAUTH_BACKEND ?? "http://127.0.0.1:5001";

export default defineConfig({
  plugins: [react(), apiDocsAssets()],
  server: {
    port: 5173,
    proxy: {
      "/api": { target: backend, changeOrigin: false },
      "/socket.io": { target: backend, changeOrigin: false, ws: true },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 900,
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
    testTimeout: 20_000,
  },
});
