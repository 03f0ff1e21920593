# The per-user Matrix OS instance: the gateway, bundled into one file, on Node 24.
#   docker build -t matrixos/instance:latest .
# Offline (no registry), scripts/build-image.sh builds on a local stand-in for node:24-slim.
ARG BASE_IMAGE=node:24-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
# Dependencies first: this layer is reused until the lockfile or a manifest changes.
COPY package.json package-lock.json ./
COPY packages/shared/package.json packages/shared/
COPY packages/gateway/package.json packages/gateway/
RUN npm ci --workspace packages/gateway --no-audit --no-fund --update-notifier=false --loglevel=error
COPY packages/shared/src packages/shared/src
COPY packages/shared/browser packages/shared/browser
COPY packages/gateway packages/gateway
# The platform's social contract (zod schemas only), which the gateway imports.
COPY packages/platform/src/api/contract/social.ts packages/platform/src/api/contract/common.ts packages/platform/src/api/contract/
COPY scripts/bundle-gateway.ts scripts/
RUN node scripts/bundle-gateway.ts /out

FROM ${BASE_IMAGE}
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps \
    PORT=4000 \
    HOST=0.0.0.0 \
    MATRIXOS_HOME=/home/matrixos/home
COPY --from=build /out /opt/matrixos/gateway
# Nothing the gateway runs is writable by the user it runs as (uid 1000): the bundle, Node and
# every folder Node looks for modules in belong to root. Only the home is the user's, and the
# gateway executes nothing from it (tenant code runs there, so it must not be able to plant a
# module the gateway would load on its next start). A fresh named volume mounted on the home
# takes over its ownership, so the gateway can fill it from the template on first boot.
RUN chown -R root:root /opt/matrixos \
 && chmod -R u=rwX,go=rX /opt/matrixos \
 && rm -rf /home/node && mkdir -m 755 /home/node \
 && mkdir -p /home/matrixos/home \
 && chown root:root /home/matrixos && chmod 755 /home/matrixos \
 && chown node:node /home/matrixos/home \
 && chmod 700 /home/matrixos/home
USER node
# Not the home: nothing is resolved relative to a folder the user can write.
WORKDIR /opt/matrixos/gateway
VOLUME ["/home/matrixos/home"]
EXPOSE 4000
# Slim images have no curl: Node asks /health itself.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# --disable-sigusr1: code in the container (same uid) must not open an inspector in the gateway
# with `kill -USR1` and take over its token and its owner's session.
CMD ["node", "--disable-sigusr1", "/opt/matrixos/gateway/bin/gateway.mjs"]

# Last, so that a new revision or date only relabels the image and reuses every layer above.
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="Matrix OS instance" \
      org.opencontainers.image.description="One user's Matrix OS: the gateway (HTTP + WebSocket API over their home) on port 4000" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT"
