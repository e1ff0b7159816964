#!/usr/bin/env bash
# startserver.sh — starts Notistream's servers: `./startserver.sh` runs both, `web` or `pubsub` runs one.
# Settings come from the environment (see README.md); Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")"

BUN="${BUN:-}"
if [ -z "$BUN" ]; then
  if [ -x node_modules/.bin/bun ]; then BUN=node_modules/.bin/bun
  elif command -v bun >/dev/null 2>&1; then BUN=bun
  else echo "startserver.sh: bun not found; run 'npm install' first" >&2; exit 1; fi
fi

usage() {
  echo "Usage: ./startserver.sh [web|pubsub]"
  echo "  (no argument)  start the pub/sub server and the web server"
  echo "  pubsub         start only the pub/sub server (port \${NOTISTREAM_PUBSUB_PORT:-6379})"
  echo "  web            start only the web server (port \${NOTISTREAM_WEB_PORT:-8080})"
}

case "${1:-both}" in
  pubsub) exec "$BUN" pubsub.ts ;;
  web) exec "$BUN" web.ts ;;
  both) ;;
  -h|--help|help) usage; exit 0 ;;
  *) echo "startserver.sh: unknown server '$1'" >&2; usage >&2; exit 2 ;;
esac

# Started together, the web server publishes to the pub/sub server started here unless told otherwise.
if [ -z "${NOTISTREAM_REDIS_URL:-}" ]; then
  auth=""
  if [ -n "${NOTISTREAM_PASSWORD:-}" ]; then auth=":$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$NOTISTREAM_PASSWORD")@"; fi
  export NOTISTREAM_REDIS_URL="redis://${auth}127.0.0.1:${NOTISTREAM_PUBSUB_PORT:-6379}"
fi

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

"$BUN" pubsub.ts & pids+=($!)
if [ -f web.ts ]; then
  "$BUN" web.ts & pids+=($!)
fi
# Exit (and stop the other) as soon as either server stops.
wait -n
status=$?
exit $status
