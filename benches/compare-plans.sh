#!/usr/bin/env bash
# Check that two builds of abgleich plan the same: runs the same sequence of
# commands with each binary on identical copies of the bundled samples (the
# demo, with last week's sync recorded, and the plain samples) and of the
# bench data (N contacts per side, default 20000), and compares every
# `plan --json` byte for byte. For a refactoring that must not change what the
# program does:
#   git worktree add /tmp/old <commit> && cargo build --release --manifest-path /tmp/old/Cargo.toml
#   cargo build --release
#   bash benches/compare-plans.sh /tmp/old/target/release/abgleich target/release/abgleich [N]
set -euo pipefail
old=$(realpath "$1")
new=$(realpath "$2")
n=${3:-20000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The bench data of benches/common/mod.rs: a CRM table and a vdir holding
# the same people, phone numbers formatted differently.
mkdir -p "$work/bench"
python3 - "$work/bench" "$n" <<'PY'
import os, sqlite3, sys
work, n = sys.argv[1], int(sys.argv[2])
given = ["Anna", "Jörg", "Zoë", "Mehmet", "Søren", "Birgit", "Ulrike", "Paul"]
family = ["Schröder", "Müller", "Weiß", "Yılmaz", "Krämer", "Becker", "Lange", "Roth"]
db = sqlite3.connect(os.path.join(work, "crm.sqlite"))
db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, "
           "company TEXT, email TEXT, phone TEXT, city TEXT, notes TEXT, updated_at TEXT)")
os.mkdir(os.path.join(work, "outlook"))
for i in range(n):
    g, f = given[i % 8], family[(i // 8) % 8]
    # Every tenth CRM row differs, every 13th card is new, every 17th row
    # has no card: the plan holds updates, conflicts, creates and links.
    city = "Hamburg" if i % 10 == 0 else "Berlin"
    db.execute("INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,'2026-01-01 00:00:00')",
               (i + 1, g, "%s%d" % (f, i), "Firma %d GmbH" % (i % 997),
                "person%d@firma%d.example.de" % (i, i % 997), "030 %07d" % (1_000_000 + i),
                city, "Kunde seit 2019."))
    if i % 17 == 0:
        continue
    uid = "card-new-%d" % i if i % 13 == 0 else "card-%d" % i
    email = "other%d@example.org" % i if i % 13 == 0 else "Person%d@Firma%d.example.de" % (i, i % 997)
    card = ("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nN:%s%d;%s;;;\r\nFN:%s %s%d\r\n"
            "ORG:Firma %d GmbH\r\nEMAIL;TYPE=WORK:%s\r\n"
            "TEL;TYPE=WORK:+49 30 %07d\r\nADR;TYPE=WORK:;;;Berlin;;;\r\nNOTE:Kunde seit 2019.\r\nEND:VCARD\r\n") % (
                uid, f, i, g, g, f, i, i % 997, email, 1_000_000 + i)
    with open(os.path.join(work, "outlook", "%s.vcf" % uid), "w", newline="") as out:
        out.write(card)
db.commit()
PY
sed -n '/^pub const CONFIG/,/^"#;/p' "$root/benches/common/mod.rs" | sed '1d;$d' > "$work/bench/abgleich.toml"

# The demo's folder as `demo` writes it (with last week's sync recorded),
# made once by the old binary, so both start from the same state.
mkdir -p "$work/tmp"
TMPDIR="$work/tmp" "$old" demo < /dev/null > /dev/null 2>&1
mv "$(find "$work/tmp" -name abgleich.toml -printf '%h\n' | head -1)" "$work/demo"

# One run of a binary on a fresh copy of `src`, always at the same path (the
# plan names unreadable files by path): plans between applies and an undo.
run() {
  local bin=$1 src=$2 out=$3
  local dir="$work/data" cfg="$work/data/abgleich.toml"
  rm -rf "$dir" "$out" && mkdir -p "$out" && cp -r "$src" "$dir"
  # Cards older than two seconds are remembered by version: later plans
  # then take unchanged cards from the state instead of parsing them.
  find "$dir" -type f -exec touch -d '2 hours ago' {} +
  "$bin" --config "$cfg" plan --json > "$out/1-first.json" || true
  "$bin" --config "$cfg" plan --json --mode import > "$out/2-import.json" || true
  "$bin" --config "$cfg" plan --json --mode left-wins > "$out/3-left-wins.json" || true
  "$bin" --config "$cfg" apply --yes > /dev/null 2>&1 || true
  "$bin" --config "$cfg" plan --json > "$out/4-after-apply.json" || true
  "$bin" --config "$cfg" apply --yes --conflicts right --accept-review > /dev/null 2>&1 || true
  "$bin" --config "$cfg" plan --json > "$out/5-after-review.json" || true
  "$bin" --config "$cfg" undo > /dev/null 2>&1 || true
  "$bin" --config "$cfg" plan --json --mode export > "$out/6-after-undo.json" || true
  rm -rf "$dir"
}

status=0
for case in demo samples bench; do
  case $case in
    demo) src="$work/demo" ;;
    samples) src="$root/samples" ;;
    bench) src="$work/bench" ;;
  esac
  run "$old" "$src" "$work/old-$case"
  run "$new" "$src" "$work/new-$case"
  for f in "$work/old-$case"/*.json; do
    name=$(basename "$f")
    other="$work/new-$case/$name"
    bytes=$(wc -c < "$f")
    if cmp -s "$f" "$other"; then
      echo "$case $name: identical ($bytes bytes)"
    else
      echo "$case $name: DIFFERENT"
      diff <(head -c 4000 "$f") <(head -c 4000 "$other") | head -20 || true
      status=1
    fi
  done
done
exit $status
