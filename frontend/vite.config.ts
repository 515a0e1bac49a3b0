/// <reference types="vitest/config" />
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

/** Copies files into the build: `files` maps a name under `folder` to its source path. */
function copyIntoBuild(name: string, folder: string, files: Record<string, string>): Plugin {
  return {
    name,
    apply: "build",
    writeBundle(options) {
      const target = join(options.dir ?? "dist", folder);
      mkdirSync(target, { recursive: true });
      for (const [file, source] of Object.entries(files)) copyFileSync(source, join(target, file));
    },
  };
}

// The API's documentation page (/api/docs, served by the backend) loads Swagger UI from here:
// the pinned swagger-ui-dist package copied into the build, never a CDN.
function apiDocsAssets(): Plugin {
  const dist = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  const files = ["swagger-ui-bundle.js", "swagger-ui.css"];
  return copyIntoBuild("bbauth-api-docs-assets", "api-docs", Object.fromEntries(files.map((f) => [f, join(dist, f)])));
}

// The capture SDK's single-file build (packages/capture, built first by `npm run build`), copied
// into the app's build as sdk/capture.js: bbauth serves it at /sdk/capture.js.
function captureScript(): Plugin {
  const script = fileURLToPath(new URL("./packages/capture/dist/capture.js", import.meta.url));
  return copyIntoBuild("bbauth-capture-script", "sdk", { "capture.js": script });
}

/** Every file of `dir` below it, as paths. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesBelow(path) : [path];
  });
}

// Text files of the build are also written compressed (name.br, name.gz) once the build is
// complete (the copied files included): the backend sends the variant a browser accepts,
// so nothing is compressed per request.
function precompress(): Plugin {
  const compressible = /\.(js|css|html|json|svg|map)$/;
  return {
    name: "bbauth-precompress",
    apply: "build",
    closeBundle() {
      for (const path of filesBelow("dist")) {
        if (!compressible.test(path) || statSync(path).size < 1024) continue;
        const data = readFileSync(path);
        writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
        writeFileSync(`${path}.br`, brotliCompressSync(data, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } }));
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
  plugins: [react(), apiDocsAssets(), captureScript(), precompress()],
  // The app runs the capture SDK from its sources (one implementation, no build order in dev).
  resolve: { alias: { "@bbauth/capture": fileURLToPath(new URL("./packages/capture/src/index.ts", import.meta.url)) } },
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
