# One Warmline replica. Debian's Node 20 base, as the machines the tests run on.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
ENV NODE_ENV=production
EXPOSE 8080 5060/udp 5060/tcp
STOPSIGNAL SIGTERM
# A 1 MB young generation keeps scavenge pauses (which delay the 20 ms RTP pacer) short, and one
# GC thread keeps collection from competing with the event loop for a core.
CMD ["node", "--max-semi-space-size=16", "--single-threaded-gc", "--import", "tsx", "src/cli/main.ts"]
