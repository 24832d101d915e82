# The demo service (`npm start`) as a container: `docker build -t uws-kit .`, then
# `docker run -p 8080:8080 -v uws-data:/data uws-kit`. Configuration: environment variables or
# a mounted file (UWS_CONFIG=/config/uws-kit.config.json); see the README's "Running it in
# production". test/system/Dockerfile.test.ts runs these RUN/COPY steps outside Docker on a
# clean checkout, so keep every step a plain shell command.

# Production dependencies only (better-sqlite3 builds from source when no prebuilt binary fits).
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
RUN npm ci --omit=dev --no-audit --no-fund

# Type-check and build with the development dependencies; only `dist` output leaves this stage.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json tsconfig.check.json ./
COPY examples ./examples
RUN npx tsc -b
# The data folder, handed to the non-root user in the final stage.
RUN mkdir -p data

FROM node:20-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 UWS_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/packages ./packages
COPY --from=build /app/examples ./examples
COPY --from=build --chown=node:node /app/data /data
USER node
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--import", "tsx", "examples/server.ts"]
