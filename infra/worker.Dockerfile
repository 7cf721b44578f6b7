# syntax=docker/dockerfile:1
# gradcheck worker: computes shards from the BullMQ queue; no HTTP server. Build from the
# repository root:
#   docker build -f infra/worker.Dockerfile -t gradcheck-worker .

FROM node:20-bookworm-slim AS build
ENV CI=true
# A C compiler for the native GEMM kernel (packages/kernels/native); the image's Node has its
# headers. Without it the build says so and the WebAssembly kernels serve.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
RUN npm install -g pnpm@12.21.0
WORKDIR /repo
# Dependencies come from the lockfile alone (`pnpm fetch` reads no package.json), so this
# layer is rebuilt only when the lockfile or the workspace settings change.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch
COPY . .
# --ignore-scripts: the root postinstall would build every package; the next step builds
# only what this image needs. No dependency of the worker has a build script it needs.
RUN pnpm install --offline --frozen-lockfile --ignore-scripts
RUN pnpm build --filter=@gradcheck/worker...
# The worker with its production dependencies only; workspace packages are copied in.
RUN pnpm --filter=@gradcheck/worker --prod deploy /deploy/apps/worker

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    GRADCHECK_CACHE_DIR=/data/cache
WORKDIR /app
# Root-owned and read-only to the app; only the checkpoint cache is writable.
COPY --from=build /deploy ./
RUN mkdir -p /data/cache && chown node:node /data/cache
USER node
# Exits 0 on SIGTERM once its running shards are done: give it time (stop_grace_period).
CMD ["node", "apps/worker/dist/main.js"]
