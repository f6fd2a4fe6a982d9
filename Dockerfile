# One image for every vswap service; the command chooses which one runs:
#   docker run -p 127.0.0.1:50051:50051 vswap                       (the coordinator, the default)
#   docker run vswap node dist/services/zswap/main.js
#   docker run -v swap:/data vswap node dist/services/swapfile/main.js
# Options come from VSWAP_* environment variables (see README.md, "Configuration").
# Inside the image services listen on every interface (publish ports on
# 127.0.0.1 only) and keep their data under /data (mount a volume there).

# ---- build: dev dependencies, TypeScript, native add-ons -----------------
FROM node:20-slim AS build
# zstd-napi (optional) builds from source with node-gyp: give it a toolchain.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY proto ./proto
COPY services ./services
COPY clients ./clients
# Tests are not copied: the image builds and runs the services and clients only.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: compiled code, production dependencies, protos -------------
FROM node:20-slim
ENV NODE_ENV=production \
    VSWAP_COORDINATOR_LISTEN=0.0.0.0:50051 \
    VSWAP_ZSWAP_LISTEN=0.0.0.0:50052 \
    VSWAP_SWAPFILE_LISTEN=0.0.0.0:50053 \
    VSWAP_COORDINATOR_DATA_DIR=/data/coordinator \
    VSWAP_SWAPFILE_PATH=/data/swapfile \
    VSWAP_READY_FILE=/tmp/vswap.ready
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Loaded at run time by @grpc/proto-loader (services and reflection).
COPY --from=build /app/proto ./proto
# Data (journal, swap files) goes under /data, credentials (docker-compose's one-shot
# service writes them) under /creds: both writable by the user the services run as,
# and a new named volume mounted there starts out owned by that user too.
RUN mkdir -p /data /creds && chown node:node /data /creds && chmod 700 /creds
USER node
# Coordinator, zswap, swapfile default ports; 9464 for metrics when --metrics-listen is set.
EXPOSE 50051 50052 50053
# Whichever service runs: it writes its address to VSWAP_READY_FILE once it serves.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "dist/clients/cluster/healthcheck.js", "--ready-file", "/tmp/vswap.ready"]
CMD ["node", "dist/services/coordinator/main.js"]
