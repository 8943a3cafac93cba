# Podwall's image: `podwall agent` for a real cluster's nodes (see deploy/daemonset.yaml).
#   docker build -t podwall:0.1.0 .
# Build stage: the full toolchain (better-sqlite3 is built from source, see .prebuild-installrc), the
# TypeScript build, then the production dependencies only.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json .prebuild-installrc ./
# `npm ci` runs `prepare` (the build), which needs the sources: skip scripts here, build below.
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
COPY bin ./bin
COPY examples ./examples
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Runtime: Node, and the programs the data plane runs: nft and conntrack (and ip, for looking
# around on a node). The lab (`podwall lab`, which also needs python3) is not this image's job.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends nftables conntrack iproute2 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/examples ./examples
ENTRYPOINT ["node", "bin/podwall.js"]
CMD ["agent"]
