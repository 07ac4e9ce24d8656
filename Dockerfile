# One Warmline replica. Debian's Node 20 base, as the machines the tests run on.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
ENV NODE_ENV=production
EXPOSE 8080 5060/udp 5060/tcp
STOPSIGNAL SIGTERM
# One GC thread keeps collection from competing with the event loop for a core; a 16 MB young
# generation lets a call's per-packet garbage die young (with 1 MB every call was promoted and the
# gateway saturated its core at 77 calls/s: docs/benchmarks.md, bench:calls round five).
CMD ["node", "--max-semi-space-size=16", "--single-threaded-gc", "--import", "tsx", "src/cli/main.ts"]
