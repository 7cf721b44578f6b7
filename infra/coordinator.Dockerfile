# syntax=docker/dockerfile:1
# gradcheck coordinator: the HTTP API on port 8080, with the CLI beside it for
# `node apps/cli/dist/bin.js keys create`. Build from the repository root:
#   docker build -f infra/coordinator.Dockerfile -t gradcheck-coordinator .

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
# only what this image needs. No dependency of the apps has a build script they need.
RUN pnpm install --offline --frozen-lockfile --ignore-scripts
RUN pnpm build --filter=@gradcheck/coordinator... --filter=@gradcheck/cli...
# Each app with its production dependencies only; workspace packages are copied in.
RUN pnpm --filter=@gradcheck/coordinator --prod deploy /deploy/apps/coordinator \
 && pnpm --filter=@gradcheck/cli --prod deploy /deploy/apps/cli

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    GRADCHECK_STORAGE_DIR=/data/storage
WORKDIR /app
# Root-owned and read-only to the app; only the storage folder is writable.
COPY --from=build /deploy ./
RUN mkdir -p /data/storage && chown node:node /data/storage
USER node
EXPOSE 8080
CMD ["node", "apps/coordinator/dist/main.js"]
