# One Warmline replica. Debian's Node 20 base, as the machines the tests run on.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
ENV NODE_ENV=production
EXPOSE 8080 5060/udp 5060/tcp
STOPSIGNAL SIGTERM
CMD ["npx", "tsx", "src/cli/main.ts"]
