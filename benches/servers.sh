#!/usr/bin/env bash
# abgleich against its two server stores, each started here on 127.0.0.1 in a
# throwaway folder and stopped at the end (also on failure):
#   1. CardDAV (Radicale): a book of CARDS cards <-> an empty card folder:
#      check, first sync, nothing changed (sync-collection), 1% of the cards
#      edited in the folder (PUTs), then a plan that must be empty;
#   2. PostgreSQL: a table of ROWS rows <-> an empty card folder: check,
#      first sync, plans with nothing to do against one `psql` read of the
#      table, 1% of the rows updated in SQL, then a plan that must be empty.
# Prints wall time and peak memory of abgleich per step, the CPU time the
# server spent during that step (Radicale's process; the postmaster with its
# backends), the requests Radicale logged, and the plan/psql ratio.
# It is a benchmark, not a test: CI does not run it.
#   bash benches/servers.sh [CARDS [ROWS]]      (default: 10000 100000)
# ABGLEICH: the binary (default target/release/abgleich);
# RADICALE: radicale's executable (default target/test-servers/venv-radicale/
#   bin/radicale; when neither exists, a venv is made with `pip install radicale`);
# PG_BIN: PostgreSQL's bin folder (default: the newest /usr/lib/postgresql/*/bin);
# KEEP=1 keeps the work folder (configs, outputs, server logs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cards=${1:-10000}
rows=${2:-100000}

bin=${ABGLEICH:-$root/target/release/abgleich}
if [ ! -x "$bin" ]; then
  echo "no abgleich binary at $bin: run cargo build --release, or set ABGLEICH" >&2
  exit 1
fi
bin=$(realpath "$bin")

work=$(mktemp -d /tmp/abgleich-servers.XXXXXX)
chmod 711 "$work"
rad_pid=
pg_data=
if [ "$(id -u)" = 0 ]; then as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { "$@"; }; fi
cleanup() {
  set +e
  if [ -n "$rad_pid" ]; then kill "$rad_pid" 2>/dev/null && wait "$rad_pid" 2>/dev/null; fi
  if [ -n "$pg_data" ]; then as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null 2>&1; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "work folder kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rad=${RADICALE:-$root/target/test-servers/venv-radicale/bin/radicale}
if [ ! -x "$rad" ]; then
  venv="$root/target/bench-venv-radicale"
  if [ ! -x "$venv/bin/radicale" ]; then
    echo "installing radicale from PyPI into $venv" >&2
    python3 -m venv "$venv" && "$venv/bin/pip" install -q radicale
  fi
  rad="$venv/bin/radicale"
fi
pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$pg_bin/initdb" ] || { echo "no PostgreSQL server binaries (set PG_BIN)" >&2; exit 1; }

tck=$(getconf CLK_TCK)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# CPU ticks (user + system, with reaped children) of a process and its live
# children: Radicale's threads; the postmaster with its backends.
cpu_ticks() {
  local pid=$1 total=0 p f
  for p in "$pid" $(ps -o pid= --ppid "$pid" 2>/dev/null); do
    f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    f=${f##*) }
    # after "pid (comm) ": state is field 3, utime..cstime are fields 14-17
    total=$((total + $(echo "$f" | awk '{print $12 + $13 + $14 + $15}')))
  done
  echo "$total"
}

# Radicale's log since byte offset $1: requests per method, and the time its
# responses took in all (what it logged, "... response status ... in S seconds").
requests_since() {
  tail -c +"$(($1 + 1))" "$work/radicale.log" | awk '
    match($0, /\] (GET|PUT|PROPFIND|REPORT|DELETE|OPTIONS|MKCOL) request for/) {
      split(substr($0, RSTART + 2, RLENGTH), w, " "); n[w[1]]++ }
    match($0, / in [0-9.]+ seconds/) { split(substr($0, RSTART, RLENGTH), w, " "); t += w[2] }
    END { s = ""; for (m in n) s = s (s ? ", " : "") n[m] " " m
          printf "%s (%.1f s in responses)", (s ? s : "none"), t }'
}

table=()
problems=()
# `measure LABEL SERVER_PID CMD...`: runs CMD under /usr/bin/time -v and adds
# a row: wall time, peak RSS, the server's CPU time, the result line.
measure() {
  local label=$1 spid=$2 slug before after rc=0 wall rss srv=- result reqs=- logpos=0
  shift 2
  slug=$(echo "$label" | tr -c 'A-Za-z0-9\n' '_')
  [ -n "$rad_pid" ] && [ "$spid" = "$rad_pid" ] && logpos=$(stat -c %s "$work/radicale.log")
  [ "$spid" != - ] && before=$(cpu_ticks "$spid")
  /usr/bin/time -v -o "$work/$slug.time" "$@" >"$work/$slug.out" 2>&1 </dev/null || rc=$?
  if [ "$spid" != - ]; then
    sleep 0.3 # let the server finish the connection (a backend exits, is reaped)
    after=$(cpu_ticks "$spid")
    srv=$(awk -v a="$after" -v b="$before" -v t="$tck" 'BEGIN {printf "%.1f s", (a - b) / t}')
  fi
  [ "$logpos" != 0 ] && reqs=$(requests_since "$logpos")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f s", s}' "$work/$slug.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f MiB", $2 / 1024}' "$work/$slug.time")
  result=$({ grep -E '^(applied|summary|nothing|left |right )' "$work/$slug.out" || true; } | tr '\n' ' ' | sed 's/ *$//; s/|/\\|/g' | cut -c1-160)
  [ -n "$result" ] || result=$(tail -1 "$work/$slug.out" | cut -c1-160)
  if [ "$rc" != 0 ]; then
    result="FAILED (exit $rc): $result"
    problems+=("$label: exit $rc: $*")
    { echo "== $label failed (exit $rc): $*"; tail -30 "$work/$slug.out"; } >&2
  fi
  table+=("| $label | $wall | $rss | $srv | $reqs | $result |")
  echo "  $label: $wall, $rss, server $srv, requests: $reqs; $result" >&2
  LAST_WALL=${wall% s}
  LAST_OUT="$work/$slug.out"
}
# a plan that must be empty
expect_empty() {
  if ! grep -q 'nothing to do' "$LAST_OUT"; then
    problems+=("$1: the plan is not empty: $(grep -E '^summary' "$LAST_OUT" || tail -1 "$LAST_OUT")")
    { echo "== $1: plan not empty:"; head -40 "$LAST_OUT"; } >&2
  fi
}

echo "abgleich $("$bin" --version | awk '{print $NF}'), radicale $("$rad" --version 2>/dev/null | tail -1), PostgreSQL $("$pg_bin/postgres" --version | awk '{print $NF}'), $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

########## 1. CardDAV (Radicale) ##########
echo "== CardDAV: Radicale with a book of $cards cards <-> an empty card folder" >&2
dav="$work/dav"
mkdir -p "$dav/book" "$dav/collections/collection-root/alice/contacts"
printf 'alice:secret\n' >"$dav/users"
rport=$(free_port)
cat >"$dav/radicale.conf" <<EOF
[server]
hosts = 127.0.0.1:$rport
[auth]
type = htpasswd
htpasswd_filename = $dav/users
htpasswd_encryption = plain
[storage]
filesystem_folder = $dav/collections
[logging]
level = info
EOF
printf '{"tag": "VADDRESSBOOK"}' >"$dav/collections/collection-root/alice/contacts/.Radicale.props"
python3 - "$dav/collections/collection-root/alice/contacts" "$cards" <<'PY'
import os, sys
out, n = sys.argv[1], int(sys.argv[2])
first = ["Hans", "Jürgen", "Anna", "Søren", "Zoë", "Petra", "Klaus", "Maria", "Ömer", "Chloé"]
last = ["Müller", "Schmidt", "Groß", "Weiß", "Becker", "Hoffmann", "Schäfer", "Koch", "Łukasz", "Nguyen"]
for i in range(n):
    f, l = first[i % 10], last[(i // 10) % 10]
    card = ("BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//abgleich bench//EN\r\nUID:srv-%06d\r\n"
            "FN:%s %s\r\nN:%s;%s;;;\r\nEMAIL;TYPE=INTERNET,WORK:%s.%s%d@example.de\r\n"
            "TEL;TYPE=WORK,VOICE:+49 30 %07d\r\nORG:Firma %d GmbH\r\nEND:VCARD\r\n") % (
        i, f, l, l, f, f.lower(), l.lower(), i, i, i % 5000)
    with open(os.path.join(out, "srv-%06d.vcf" % i), "w", newline="", encoding="utf-8") as g:
        g.write(card)
PY
"$rad" --config "$dav/radicale.conf" >"$work/radicale.log" 2>&1 &
rad_pid=$!
for _ in $(seq 100); do
  curl -s -o /dev/null -u alice:secret "http://127.0.0.1:$rport/" && break
  kill -0 "$rad_pid" 2>/dev/null || { echo "radicale did not start:" >&2; cat "$work/radicale.log" >&2; exit 1; }
  sleep 0.1
done
cat >"$dav/abgleich.toml" <<EOF
[left]
name = "folder"
kind = "vdir"
path = "book"

[right]
name = "radicale"
kind = "carddav"
url = "http://127.0.0.1:$rport/alice/contacts/"
username = "alice"
password_env = "DAV_PW"

[sync]
mode = "sync"
EOF
export DAV_PW=secret
cd "$dav"
measure "CardDAV check (Radicale's cache cold)" "$rad_pid" "$bin" check --config abgleich.toml
measure "CardDAV (a) first sync: $cards cards read, created in the folder" "$rad_pid" "$bin" apply --yes --config abgleich.toml
measure "CardDAV (b) apply with nothing changed" "$rad_pid" "$bin" apply --yes --config abgleich.toml
# 1%: every 100th card of the folder gets a new e-mail address
edited=$(python3 - book <<'PY'
import os, re, sys
d = sys.argv[1]
n = 0
for name in sorted(os.listdir(d))[::100]:
    p = os.path.join(d, name)
    if not name.endswith(".vcf"):
        continue
    text = open(p, encoding="utf-8", newline="").read()
    new = re.sub(r"(?im)^((?:[\w-]+\.)?EMAIL[^:\r\n]*:[^@\r\n]*)@example\.de", r"\1@example.com", text, count=1)
    if new != text:
        open(p, "w", encoding="utf-8", newline="").write(new)
        n += 1
print(n)
PY
)
measure "CardDAV (c) 1% changed: $edited cards edited in the folder, sent" "$rad_pid" "$bin" apply --yes --config abgleich.toml
measure "CardDAV plan after (c)" "$rad_pid" "$bin" plan --config abgleich.toml
expect_empty "CardDAV plan after (c)"
measure "CardDAV plan again" "$rad_pid" "$bin" plan --config abgleich.toml
expect_empty "CardDAV plan again"
cd "$work"
kill "$rad_pid" && wait "$rad_pid" 2>/dev/null || true
rad_pid=

########## 2. PostgreSQL ##########
echo "== PostgreSQL: a table of $rows rows <-> an empty card folder" >&2
pg="$work/pg"
mkdir -p "$pg/book"
mkdir "$pg/server"
printf 'bench-su\n' >"$pg/server/pw"
[ "$(id -u)" = 0 ] && chown -R postgres "$pg/server"
pport=$(free_port)
as_pg "$pg_bin/initdb" -D "$pg/server/data" -A scram-sha-256 -U postgres --pwfile="$pg/server/pw" -E UTF8 --locale=C >"$pg/initdb.log" 2>&1 ||
  { cat "$pg/initdb.log" >&2; exit 1; }
as_pg "$pg_bin/pg_ctl" -D "$pg/server/data" -l "$pg/server/log" -w \
  -o "-k $pg/server -p $pport -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
pg_data="$pg/server/data"
postmaster=$(head -1 "$pg_data/postmaster.pid")
psql_su() { PGPASSWORD=bench-su "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pport" -U postgres "$@"; }
psql_crm() { PGPASSWORD=crm-pw "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pport" -U crm -d crm "$@"; }
psql_su -d postgres -c "CREATE ROLE crm LOGIN PASSWORD 'crm-pw'"
psql_su -d postgres -c "CREATE DATABASE crm OWNER crm"
psql_crm <<EOF
CREATE TABLE kunden (id serial PRIMARY KEY, vorname text, nachname varchar(80), email text,
                     telefon text, firma text, geaendert_am timestamptz);
INSERT INTO kunden (vorname, nachname, email, telefon, firma, geaendert_am)
SELECT v, n, lower(v) || '.' || lower(n) || i || '@example.de', '+49 30 ' || lpad(i::text, 7, '0'),
       'Firma ' || (i % 5000) || ' GmbH', timestamptz '2026-01-01 00:00:00+00' - i * interval '1 minute'
FROM (SELECT i, (ARRAY['Hans','Jürgen','Anna','Søren','Zoë','Petra','Klaus','Maria','Ömer','Chloé'])[1 + i % 10] AS v,
             (ARRAY['Müller','Schmidt','Groß','Weiß','Becker','Hoffmann','Schäfer','Koch','Łukasz','Nguyen'])[1 + (i / 10) % 10] AS n
      FROM generate_series(1, $rows) AS i) AS g;
VACUUM ANALYZE kunden;
EOF
cat >"$pg/abgleich.toml" <<EOF
[left]
name = "crm"
kind = "postgres"
url = "postgresql://crm@127.0.0.1:$pport/crm"
password_env = "CRM_PW"
table = "public.kunden"
id = "id"
modified = "geaendert_am"

[left.fields]
"name.given" = "vorname"
"name.family" = "nachname"
"email.work" = "email"
"phone.work" = "telefon"
"org.name" = "firma"

[right]
name = "folder"
kind = "vdir"
path = "book"

[sync]
mode = "sync"
EOF
export CRM_PW=crm-pw
cd "$pg"
measure "PG check" "$postmaster" "$bin" check --config abgleich.toml
measure "PG first sync: $rows cards created in the folder" "$postmaster" "$bin" apply --yes --config abgleich.toml
measure "PG check after the sync: both stores read in full" "$postmaster" "$bin" check --config abgleich.toml
measure "PG plan with nothing to do (the first after the apply)" "$postmaster" "$bin" plan --config abgleich.toml
expect_empty "PG plan after the first sync"
measure "PG plan with nothing to do (again)" "$postmaster" "$bin" plan --config abgleich.toml
expect_empty "PG plan again"
plan_wall=$LAST_WALL
measure "psql: COPY (SELECT * FROM kunden) TO STDOUT > /dev/null" "$postmaster" \
  env PGPASSWORD=crm-pw "$pg_bin/psql" -X -q -h 127.0.0.1 -p "$pport" -U crm -d crm -o /dev/null \
  -c "COPY (SELECT * FROM kunden) TO STDOUT"
psql_wall=$LAST_WALL
ratio=$(awk -v a="$plan_wall" -v b="$psql_wall" 'BEGIN {printf "%.1f", (b > 0 ? a / b : 0)}')
table+=("| PG ratio: plan with nothing to do / psql read | **$ratio ×** | | | | $plan_wall s / $psql_wall s |")
changed=$(psql_crm -At -c "WITH u AS (UPDATE kunden SET telefon = '+49 40 ' || lpad(id::text, 7, '0'), geaendert_am = now()
                                        WHERE id % 100 = 0 RETURNING 1) SELECT count(*) FROM u")
measure "PG 1% changed: $changed rows updated in SQL, cards rewritten" "$postmaster" "$bin" apply --yes --config abgleich.toml
measure "PG plan after the 1% apply" "$postmaster" "$bin" plan --config abgleich.toml
expect_empty "PG plan after the 1% apply"
cd "$work"

########## the table ##########
echo
echo "abgleich $("$bin" --version | awk '{print $NF}'), $(nproc) cores, load after: $(cut -d' ' -f1-3 /proc/loadavg); CARDS=$cards ROWS=$rows"
echo
echo "| step | wall | abgleich peak RSS | server CPU | Radicale requests (their time in Radicale) | result |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${table[@]}"
if [ ${#problems[@]} -gt 0 ]; then
  echo
  echo "problems:"
  printf -- '- %s\n' "${problems[@]}"
fi
