# The Sluice image: one image for workers (`worker`, the default), `sluice serve` and the CLI (`run`,
# `status`, …). Build from the repository root: docker build -f infra/worker.Dockerfile -t sluice .
# test/unit/docker-compose.test.ts checks that it copies every directory tsconfig.build.json compiles.
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production \
    SLUICE_HOME=/var/lib/sluice \
    SLUICE_DATA_ROOTS=/data:/app/node_modules/vega-datasets/data

COPY package.json package-lock.json tsconfig.json tsconfig.build.json index.ts ./
COPY activities ./activities
COPY audit ./audit
COPY cli ./cli
COPY client ./client
COPY infra ./infra
COPY lib ./lib
COPY pipelines ./pipelines
COPY serving ./serving
COPY workflows ./workflows
COPY worker ./worker

# `npm ci` runs `prepare` (npm run build: dist/, the prebuilt workflow bundle, the source stamp), so
# `cli/bin.js` runs the compiled CLI; the build's dev dependencies are pruned afterwards. tfjs-node is
# optional: its native library download may fail; Sluice then trains on WASM.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev && npm cache clean --force

RUN mkdir -p /var/lib/sluice /data && chown -R node:node /var/lib/sluice /data
USER node
# SLUICE_HOME: each container's own disk, never shared between containers.
VOLUME ["/var/lib/sluice"]

ENTRYPOINT ["node", "cli/bin.js"]
CMD ["worker"]
