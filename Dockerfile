# One image for every connect-mesh service; the command picks the service.
#   docker build -t connect-mesh .
#   docker run -e PORT=4001 ... connect-mesh --import ./services/backend/src/telemetry.ts services/backend/src/main.ts

# Build stage: production dependencies only (the Node 24 runtime comes from the base image, not npm).
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force

# Build stage: the dashboard (Vite), with the dev dependencies it needs; only dashboard/dist leaves this stage.
FROM node:24-slim AS dashboard
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund && npm cache clean --force
COPY gen ./gen
COPY dashboard ./dashboard
RUN node node_modules/vite/bin/vite.js build --config dashboard/vite.config.ts

# Runtime stage: sources and production node_modules, run as the unprivileged `node` user.
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0
# Heap limits of every service process (lib/server/service-node-flags.ts says why), and the compile cache, so
# that restarts skip TypeScript stripping.
ENV NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=128" NODE_COMPILE_CACHE=/tmp/node-compile-cache
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY gen ./gen
COPY lib ./lib
COPY services ./services
COPY --from=dashboard /app/dashboard/dist ./dashboard/dist
COPY scripts/healthcheck.ts ./scripts/healthcheck.ts
USER node
# Node 24 runs the TypeScript sources directly (type stripping). Healthy means grpc.health.v1 says SERVING.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 CMD ["node", "scripts/healthcheck.ts"]
# Node refuses the V8 flag --no-allocation-site-pretenuring in NODE_OPTIONS (lib/server/service-node-flags.ts says why it is set).
ENTRYPOINT ["node", "--no-allocation-site-pretenuring"]
