# Shared by deploy/local/up, down and test. Source it; it does nothing on its own.
# Everything lives under $TALLY_HOME (default: <repo>/.tally), git-ignored.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TALLY_HOME="${TALLY_HOME:-$REPO_ROOT/.tally}"

say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# Installs PostgreSQL and Redis from Debian's packages if they are missing.
ensure_packages() {
  local need=()
  [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || need+=(postgresql postgresql-contrib)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  command -v curl >/dev/null 2>&1 || need+=(curl)
  if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]} (apt-get)"
    # We run our own clusters on our own ports; the package's default cluster is not needed.
    as_root mkdir -p /etc/postgresql-common
    grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf \
      || echo 'create_main_cluster = false' | as_root tee -a /etc/postgresql-common/createcluster.conf >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  command -v dotnet >/dev/null 2>&1 || die "the .NET SDK 10 is required (dotnet not on PATH)"
}

# ensure_command COMMAND PACKAGE: installs the Debian package that provides COMMAND if it is missing
# (iptables for the fault checker's partition).
ensure_command() {
  command -v "$1" >/dev/null 2>&1 && return 0
  say "installing $2 (apt-get)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  command -v "$1" >/dev/null 2>&1 || die "$1 is still missing after installing $2"
}

# ensure_test_tools: what only the tests need. A real S3-compatible server (the npm package s3rver, pinned,
# installed under .tally/tools) and a browser for the tracker test (Debian's chromium and chromium-driver).
S3RVER_VERSION=3.7.1
ensure_test_tools() {
  ensure_command node nodejs
  ensure_command npm npm
  ensure_command chromium chromium
  ensure_command chromedriver chromium-driver
  if [ ! -x "$TALLY_HOME/tools/node_modules/.bin/s3rver" ]; then
    say "installing s3rver $S3RVER_VERSION (npm, into .tally/tools)"
    mkdir -p "$TALLY_HOME/tools"
    npm install --silent --no-audit --no-fund --prefix "$TALLY_HOME/tools" "s3rver@$S3RVER_VERSION" >/dev/null
  fi
}

# start_s3 DIR PORT: s3rver on loopback, its objects under DIR (access key and secret: S3RVER).
start_s3() {
  local dir="$1" port="$2"
  mkdir -p "$dir/data"
  if pid_alive "$dir/s3rver.pid"; then return 0; fi
  say "starting s3rver on 127.0.0.1:$port"
  nohup "$TALLY_HOME/tools/node_modules/.bin/s3rver" -d "$dir/data" -a 127.0.0.1 -p "$port" --silent \
    >"$dir/s3rver.log" 2>&1 &
  echo $! >"$dir/s3rver.pid"
  wait_for "s3rver" 30 curl -fsS -o /dev/null "http://127.0.0.1:$port/"
}

stop_s3() { stop_pidfile "$1/s3rver.pid" "s3rver" 10; }

now_ms() { date +%s%3N; }

# run_as_postgres CMD...: PostgreSQL refuses to run as root.
run_as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# PostgreSQL's buffer cache: a quarter of the machine's memory, 128 MB-8 GB (TALLY_PG_SHARED_BUFFERS overrides,
# e.g. 2GB). With the 512 MB it had, the log's indexes outgrew the cache on a database of a few days' benches and
# every commit waited on reads (decision 020).
pg_shared_buffers() {
  if [ -n "${TALLY_PG_SHARED_BUFFERS:-}" ]; then echo "$TALLY_PG_SHARED_BUFFERS"; return; fi
  local kb; kb="$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null || echo 0)"
  local mb=$(( kb / 1024 / 4 ))
  [ "$mb" -lt 128 ] && mb=128
  [ "$mb" -gt 8192 ] && mb=8192
  echo "${mb}MB"
}

# start_postgres DIR PORT: a private cluster in DIR, listening on 127.0.0.1:PORT only, trust auth.
start_postgres() {
  local dir="$1" port="$2" bin; bin="$(pg_bin)"
  dir="$(pg_dir "$dir")"
  if [ ! -s "$dir/data/PG_VERSION" ]; then
    say "initialising PostgreSQL in $dir/data"
    run_as_postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  pg_run "$dir" "$port" "PostgreSQL" "$(pg_shared_buffers)" "-c max_wal_size=4GB -c checkpoint_timeout=15min -c fsync=on -c synchronous_commit=on"
}

# pg_dir DIR: makes DIR (owned by postgres when we are root) and prints its absolute path.
pg_dir() {
  mkdir -p "$1"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$1"; chmod 700 "$1"; fi
  (cd "$1" && pwd)
}

# pg_run DIR PORT WHAT SHARED_BUFFERS EXTRA: starts the cluster in DIR/data on 127.0.0.1:PORT only (unless it runs).
pg_run() {
  local dir="$1" port="$2" what="$3" buffers="$4" extra="$5" bin; bin="$(pg_bin)"
  run_as_postgres "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 && return 0
  say "starting $what on 127.0.0.1:$port (shared_buffers $buffers)"
  run_as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c shared_buffers=$buffers -c shared_preload_libraries=pg_stat_statements $extra" >/dev/null \
    || { tail -20 "$dir/postgres.log" >&2; die "$what did not start"; }
}

# start_replica PRIMARY_PORT DIR PORT: a streaming replica of the cluster on 127.0.0.1:PRIMARY_PORT (pg_basebackup -R:
# standby.signal and primary_conninfo), a hot standby listening on 127.0.0.1:PORT only. A replica of another primary
# (its system identifier differs: the primary was made anew) is cloned again.
start_replica() {
  local primary="$1" dir="$2" port="$3" bin; bin="$(pg_bin)"
  dir="$(pg_dir "$dir")"
  local want; want="$(psql_at "$primary" postgres "SELECT system_identifier FROM pg_control_system()")"
  if [ -s "$dir/data/PG_VERSION" ]; then
    local have; have="$("$bin/pg_controldata" "$dir/data" 2>/dev/null | sed -n 's/^Database system identifier: *//p')"
    if [ "$have" != "$want" ]; then
      say "the replica in $dir is of another primary: cloning it again"
      stop_postgres "$dir"
      rm -rf "$dir/data"
    fi
  fi
  if [ ! -s "$dir/data/PG_VERSION" ]; then
    say "cloning 127.0.0.1:$primary into a streaming replica in $dir/data (pg_basebackup)"
    run_as_postgres "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary" -U postgres -D "$dir/data" -R -X stream -c fast >/dev/null \
      || die "pg_basebackup from 127.0.0.1:$primary failed"
  fi
  # Reads that may lag are few: a small cache leaves the machine's memory to the primary.
  pg_run "$dir" "$port" "the read replica" "512MB" "-c hot_standby=on"
  # A replica stopped while its primary went on (the last test run's checkers) may need WAL the primary has recycled
  # since: it never catches up. One that is not streaming within 15 s is cloned again.
  local tries=0
  until [ "$(psql_at "$port" postgres "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null)" = streaming ]; do
    tries=$((tries + 1))
    if [ "$tries" -ge 30 ]; then
      [ -z "${REPLICA_RECLONED:-}" ] || die "the replica in $dir does not stream from 127.0.0.1:$primary (see $dir/postgres.log)"
      say "the replica in $dir does not stream from its primary (WAL it needs is gone?): cloning it again"
      stop_postgres "$dir"
      rm -rf "$dir/data"
      REPLICA_RECLONED=1 start_replica "$primary" "${2}" "$port"
      return
    fi
    sleep 0.5
  done
}

stop_postgres() {
  local dir="$1" bin; bin="$(pg_bin)"
  [ -n "$bin" ] && [ -s "$dir/data/PG_VERSION" ] || return 0
  run_as_postgres "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 || return 0
  say "stopping PostgreSQL ($dir)"
  run_as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
}

psql_at() { # psql_at PORT DB SQL
  "$(pg_bin)/psql" -h 127.0.0.1 -p "$1" -U postgres -d "$2" -v ON_ERROR_STOP=1 -qAt -c "$3"
}

# Byte-order collation: Tally's text keys are identifiers (tenants, users, idempotency keys), and C compares
# them with memcmp where C.UTF-8 goes through strcoll on every index probe (same order for UTF-8 text).
ensure_database() { # ensure_database PORT NAME
  if [ "$(psql_at "$1" postgres "SELECT 1 FROM pg_database WHERE datname = '$2'")" != 1 ]; then
    psql_at "$1" postgres "CREATE DATABASE \"$2\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'" >/dev/null
  fi
}

# start_redis DIR PORT
start_redis() {
  local dir="$1" port="$2"
  mkdir -p "$dir"
  if pid_alive "$dir/redis.pid"; then return 0; fi
  say "starting Redis on 127.0.0.1:$port"
  redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --dir "$dir" \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save "" --appendonly no >/dev/null
  wait_for "Redis" 30 redis-cli -h 127.0.0.1 -p "$port" ping
}

stop_redis() { stop_pidfile "$1/redis.pid" "Redis" 10; }

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pidfile FILE NAME [SECONDS]: stops exactly the process we started, never by name: SIGTERM (a
# graceful stop: silos deactivate their grains and save state), SIGKILL after SECONDS (default 60).
stop_pidfile() {
  local file="$1" name="$2" seconds="${3:-60}"
  if pid_alive "$file"; then
    local pid; pid="$(cat "$file")"
    say "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((seconds * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

# wait_for NAME SECONDS CMD...: polls CMD until it succeeds or the deadline passes.
wait_for() {
  local name="$1" seconds="$2"; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$name not ready after ${seconds}s"
    sleep 0.5
  done
}

SILO_DLL="$REPO_ROOT/silo/Tally.Silo/bin/Release/net10.0/Tally.Silo.dll"
API_DLL="$REPO_ROOT/client/Tally.Api/bin/Release/net10.0/Tally.Api.dll"
TALLY_DLL="$REPO_ROOT/client/Tally.Cli/bin/Release/net10.0/tally.dll"
BOUNDED_LOG="$REPO_ROOT/deploy/local/bounded-log"

build_release() { # build_release LOGFILE
  say "building (Release)"
  dotnet build "$REPO_ROOT/Orleans.sln" -c Release -v quiet -nologo -clp:ErrorsOnly >"$1" 2>&1 || { cat "$1" >&2; die "build failed"; }
}

# start_silo RUN LOGS NAME HTTP_PORT SILO_PORT GATEWAY_PORT [API_PORT]: one silo of the cluster named by
# $TALLY_CLUSTER_ID; with API_PORT it also serves the HTTP API there (Tally:Silo:ApiUrls, decision 024).
# Connection settings come from the environment (Tally__Postgres__ConnectionString, Tally__Redis__ConnectionString).
# With TALLY_SILO_GID set, the silo runs with that group id (same user), so iptables' owner match can tell
# the connections it opens from the other silos' (the fault checker's partition).
start_silo() {
  local run="$1" logs="$2" name="$3" http="$4" silo="$5" gateway="$6" api="${7:-}"
  if pid_alive "$run/$name.pid"; then say "$name already running (pid $(cat "$run/$name.pid"))"; return; fi
  say "starting $name (http $http, silo $silo, gateway $gateway${api:+, API on http://127.0.0.1:$api}${TALLY_SILO_GID:+, group $TALLY_SILO_GID})"
  local launch=()
  [ -z "${TALLY_SILO_GID:-}" ] || launch=(setpriv --regid "$TALLY_SILO_GID" --clear-groups --)
  Tally__Silo__ClusterId="${TALLY_CLUSTER_ID:-tally}" Tally__Silo__SiloPort="$silo" Tally__Silo__GatewayPort="$gateway" \
    Tally__Silo__ApiUrls="${api:+http://127.0.0.1:$api}" DOTNET_TC_CallCountingDelayMs="${DOTNET_TC_CallCountingDelayMs:-0}" \
    nohup ${launch[@]+"${launch[@]}"} dotnet "$SILO_DLL" --urls "http://127.0.0.1:$http" > >("$BOUNDED_LOG" "$logs/$name.log") 2>&1 &
  echo $! > "$run/$name.pid"
}

# start_api RUN LOGS NAME PORT: one API instance (an Orleans client of $TALLY_CLUSTER_ID).
start_api() {
  local run="$1" logs="$2" name="$3" port="$4"
  if pid_alive "$run/$name.pid"; then say "$name already running (pid $(cat "$run/$name.pid"))"; return; fi
  say "starting $name on http://127.0.0.1:$port"
  Tally__Api__ClusterId="${TALLY_CLUSTER_ID:-tally}" nohup dotnet "$API_DLL" --urls "http://127.0.0.1:$port" > >("$BOUNDED_LOG" "$logs/$name.log") 2>&1 &
  echo $! > "$run/$name.pid"
}

kill_hard() { # kill_hard PIDFILE: SIGKILL, as a crash would
  if pid_alive "$1"; then kill -9 "$(cat "$1")" 2>/dev/null || true; fi
  rm -f "$1"
}

# active_silos URL: how many silos the API's readiness reports.
active_silos() { curl -fsS "$1/health/ready" 2>/dev/null | sed -n 's/.*"active_silos":\([0-9]*\).*/\1/p'; }
