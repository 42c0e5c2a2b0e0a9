# The Sluice image: one image for workers (`worker`, the default) and the CLI (`run`, `status`, …).
# Build from the repository root: docker build -f infra/worker.Dockerfile -t sluice .
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production \
    SLUICE_HOME=/var/lib/sluice \
    SLUICE_DATA_ROOTS=/data:/app/node_modules/vega-datasets/data

COPY package.json package-lock.json ./
# tfjs-node is optional: its native library download may fail; Sluice then trains on WASM.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY activities ./activities
COPY cli ./cli
COPY pipelines ./pipelines
COPY workflows ./workflows
COPY worker ./worker
COPY infra ./infra
COPY serving ./serving

RUN mkdir -p /var/lib/sluice /data && chown -R node:node /var/lib/sluice /data
USER node
VOLUME ["/var/lib/sluice"]

ENTRYPOINT ["node", "cli/bin.js"]
CMD ["worker"]
