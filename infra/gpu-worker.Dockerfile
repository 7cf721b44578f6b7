# syntax=docker/dockerfile:1
# gradcheck GPU worker: the worker with gpu.js's native `gl` addon, run under Xvfb so that
# gpu.js computes in its headlessgl mode (a float32 screen, confirmed in float64 on the CPU).
# Build from the repository root:
#   docker build -f infra/gpu-worker.Dockerfile -t gradcheck-gpu-worker .
# Run on an NVIDIA host with the NVIDIA Container Toolkit:
#   docker run --gpus all -e NVIDIA_DRIVER_CAPABILITIES=all -e GRADCHECK_KEY=... gradcheck-gpu-worker
# See infra/README.md: without a GPU driver, GL is Mesa's software renderer.

# The full image: python3, make and g++ for node-gyp, which builds `gl` from source.
FROM node:20-bookworm AS build
ENV CI=true
RUN apt-get update \
 && apt-get install -y --no-install-recommends libxi-dev libx11-dev libxext-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
RUN npm install -g pnpm@12.21.0
WORKDIR /repo
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch
COPY . .
RUN pnpm install --offline --frozen-lockfile --ignore-scripts
RUN pnpm build --filter=@gradcheck/worker...
RUN pnpm --filter=@gradcheck/worker --prod deploy /deploy/apps/worker
# `gl` is gpu.js's optional dependency, kept from building by pnpm-workspace.yaml's
# allowBuilds (CI has no X libraries); build it here, against this Node's own headers
# (node-gyp would otherwise try to download them), and fail the image if it does not load.
RUN cd /deploy/apps/worker \
 && GL_DIR="$(find node_modules/.pnpm -maxdepth 3 -type d -path '*/gl@*/node_modules/gl' | head -n 1)" \
 && test -n "$GL_DIR" \
 && cd "$GL_DIR" \
 && npm_config_nodedir=/usr/local npx --yes node-gyp@11 rebuild \
 && node -e "require('./build/Release/webgl.node')"

FROM node:20-bookworm-slim
# Xvfb provides the display headless-gl needs; Mesa's DRI drivers and GLU are what it renders
# with where no vendor GL is mounted. xauth is for xvfb-run.
RUN apt-get update \
 && apt-get install -y --no-install-recommends xvfb xauth libgl1-mesa-dri libglu1-mesa libxi6 libxext6 libx11-6 \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    GRADCHECK_CACHE_DIR=/data/cache \
    GRADCHECK_BACKEND=gpujs \
    GRADCHECK_GPUJS_MODE=headlessgl \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=graphics,compute,utility
WORKDIR /app
COPY --from=build /deploy ./
RUN mkdir -p /data/cache && chown node:node /data/cache
USER node
COPY --chmod=755 infra/gpu-worker-entrypoint.sh /usr/local/bin/gpu-worker-entrypoint
# The entrypoint starts Xvfb, sets DISPLAY and execs the worker, which so gets SIGTERM itself:
# it finishes its running shards and exits 0 (give it stop_grace_period).
# GRADCHECK_GPUJS_MODE=headlessgl makes a worker whose GL does not work refuse to start
# (exit 2, naming the modes that do) rather than fall back to a slower mode unnoticed.
ENTRYPOINT ["gpu-worker-entrypoint"]
CMD ["node", "apps/worker/dist/main.js"]
