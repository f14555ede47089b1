# The cloud control plane. Node 24 runs our TypeScript directly (type stripping; the code is written for it:
# erasable syntax only, `.ts` import extensions, `import type`), so the image needs neither tsx nor a build step.
# (Checked outside Docker: Node 24.21 runs cloud/src/main.ts and admin-cli.ts on `npm ci --omit=dev` dependencies.)
# Build: docker build -t camel-ops-cloud .   Run: see docker-compose.dev.yml and docs/cloud.md.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the postinstall only fetches helm for tests and the agent, which the cloud does not need.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY shared/src ./shared/src
COPY cloud/src ./cloud/src
COPY migrations ./migrations
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The admin CLI in the container: docker exec <container> node cloud/src/admin-cli.ts --help
CMD ["node", "cloud/src/main.ts"]
