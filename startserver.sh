#!/usr/bin/env bash
# startserver.sh — starts Notistream's servers: `./startserver.sh` runs both, `web` or `pubsub` runs one, and the
# flags after it go to the server(s) that take them. Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")"

BUN="${BUN:-}"
if [ -z "$BUN" ]; then
  if [ -x node_modules/.bin/bun ]; then BUN=node_modules/.bin/bun
  elif command -v bun >/dev/null 2>&1; then BUN=bun
  else echo "startserver.sh: bun not found; run 'npm install' first" >&2; exit 1; fi
fi

usage() {
  cat <<'EOF'
Usage: ./startserver.sh [web|pubsub] [flags]     (npm start -- [web|pubsub] [flags])
  (no server named)  start the pub/sub server and the web server, the web server publishing to the other
  pubsub [flags]     start only the pub/sub server (bun pubsub.ts --help lists its flags)
  web [flags]        start only the web server (bun web.ts --help lists its flags)

With both servers, each flag goes to the server that takes it: --maxclients to the pub/sub server,
--github-secret to the web server. --host, --acl, --tls-cert and --tls-key go to both; --port goes to the web
server and --data (the history file) to the pub/sub server. Prefix a flag with pubsub- or web- to send it to
one server only: --pubsub-port 6380, --web-data ./web-data.
Every flag also has an environment variable (NOTISTREAM_...), listed by each server's --help.
EOF
}

case "${1:-}" in
  pubsub) shift; exec "$BUN" pubsub.ts "$@" ;;
  web) shift; exec "$BUN" web.ts "$@" ;;
  -h|--help|help) usage; exit 0 ;;
  ""|--*) ;;
  *) echo "startserver.sh: unknown server '$1': name web or pubsub, or none for both" >&2; usage >&2; exit 2 ;;
esac

# Both servers: route each flag by the flags each server's own --help lists (each is defined once, in its file).
pubsub_args=()
web_args=()
if [ $# -gt 0 ]; then
  pubsub_help=$("$BUN" pubsub.ts --help)
  web_help=$("$BUN" web.ts --help)
  knows() { grep -qE -- "^  --$2( |\$)" <<<"$1"; }
  takes_value() { grep -qE -- "^  --$2 <value>" <<<"$1"; }
  while [ $# -gt 0 ]; do
    arg=$1; shift
    case "$arg" in
      --*) ;;
      *) echo "startserver.sh: '$arg' is not a flag; see ./startserver.sh --help" >&2; exit 2 ;;
    esac
    name=${arg#--}; value=""; inline=0
    case "$name" in *=*) value=${name#*=}; name=${name%%=*}; inline=1 ;; esac
    target=""
    case "$name" in
      pubsub-*) name=${name#pubsub-}; target=pubsub ;;
      web-*) name=${name#web-}; target=web ;;
      port) target=web ;;
      data) target=pubsub ;; # the history file; the web server's data directory is --web-data
    esac
    if [ -z "$target" ]; then
      knows "$pubsub_help" "$name" && target=pubsub
      knows "$web_help" "$name" && target="${target:+$target+}web"
    fi
    help_of=$pubsub_help; [ "$target" = web ] && help_of=$web_help
    if [ -z "$target" ] || { [ "$target" != "pubsub+web" ] && ! knows "$help_of" "$name"; }; then
      echo "startserver.sh: neither server takes --$name; see bun pubsub.ts --help and bun web.ts --help" >&2; exit 2
    fi
    flag=("--$name")
    if takes_value "${help_of}" "$name" || { [ "$target" = "pubsub+web" ] && takes_value "$web_help" "$name"; }; then
      if [ $inline = 0 ]; then
        [ $# -gt 0 ] || { echo "startserver.sh: --$name needs a value" >&2; exit 2; }
        value=$1; shift
      fi
      flag+=("$value")
    fi
    case "$target" in
      pubsub) pubsub_args+=("${flag[@]}") ;;
      web) web_args+=("${flag[@]}") ;;
      pubsub+web) pubsub_args+=("${flag[@]}"); web_args+=("${flag[@]}") ;;
    esac
  done
fi

# Started together, the web server publishes to the pub/sub server started here unless told otherwise.
flag_value() { # the value of --$1 in the pub/sub server's flags, else the environment's $2
  local v="${!2:-}" i
  for ((i = 0; i < ${#pubsub_args[@]}; i++)); do [ "${pubsub_args[$i]}" = "--$1" ] && v=${pubsub_args[$((i + 1))]}; done
  printf '%s' "$v"
}
if [ -z "${NOTISTREAM_REDIS_URL:-}" ] && ! printf '%s\n' "${web_args[@]+"${web_args[@]}"}" | grep -qx -- "--redis"; then
  password=$(flag_value password NOTISTREAM_PASSWORD)
  port=$(flag_value port NOTISTREAM_PUBSUB_PORT)
  auth=""
  if [ -n "$password" ]; then auth=":$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$password")@"; fi
  export NOTISTREAM_REDIS_URL="redis://${auth}127.0.0.1:${port:-6379}"
fi

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

"$BUN" pubsub.ts "${pubsub_args[@]+"${pubsub_args[@]}"}" & pids+=($!)
"$BUN" web.ts "${web_args[@]+"${web_args[@]}"}" & pids+=($!)
# Exit (and stop the other) as soon as either server stops.
wait -n
status=$?
exit $status
