# One image for every connect-mesh service; the command picks the service.
#   docker build -t connect-mesh .
#   docker run connect-mesh services/backend/src/main.ts
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
COPY gen ./gen
COPY lib ./lib
COPY services ./services
USER node
# Node 24 runs the TypeScript sources directly (type stripping); the telemetry preload is chosen per service.
ENTRYPOINT ["node"]
