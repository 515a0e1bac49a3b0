# syntax=docker/dockerfile:1
# bbauth web app: built with Node 20, served by nginx, which also proxies /api and /socket.io to
# the backend. Build from the repository root: docker build -f deploy/frontend.Dockerfile .
FROM node:20 AS build
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
# The capture SDK is an npm workspace: npm ci needs its manifest before the sources.
COPY frontend/packages/capture/package.json ./packages/capture/
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM nginx:1.27-alpine
COPY deploy/nginx/default.conf /etc/nginx/conf.d/default.conf
COPY --from=build /src/frontend/dist /usr/share/nginx/html
EXPOSE 80
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
    CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1/healthz"]
