# One image for every vswap service; the command chooses which one runs:
#   docker run vswap node dist/services/coordinator/main.js   (the default)
#   docker run vswap node dist/services/zswap/main.js
#   docker run vswap node dist/services/swapfile/main.js
# Options come from VSWAP_* environment variables (see README.md, "Configuration").

# ---- build: dev dependencies, TypeScript, native add-ons -----------------
FROM node:20-slim AS build
# zstd-napi (optional) builds from source with node-gyp: give it a toolchain.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY proto ./proto
COPY services ./services
COPY clients ./clients
# Tests are not copied: the image builds and runs the services and clients only.
RUN npm run build && npm prune --omit=dev

# ---- runtime: compiled code, production dependencies, protos -------------
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Loaded at run time by @grpc/proto-loader (services and reflection).
COPY --from=build /app/proto ./proto
# Data (journal, swap files) goes to volumes mounted here.
RUN mkdir -p /data && chown node:node /data
USER node
# Coordinator, zswap, swapfile default ports (docker-compose.yml sets each service's own).
EXPOSE 50051 50052 50053
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "dist/clients/cluster/healthcheck.js", "127.0.0.1:50051"]
CMD ["node", "dist/services/coordinator/main.js"]
