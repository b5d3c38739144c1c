#!/usr/bin/env bash
# CRM (SQLite) <-> vdir, the jobs of issue 14 at several sizes in one run,
# with the floors that bound them:
#   export:   N rows in the CRM, the card folder empty: `apply --yes`;
#   no-op:    `plan` with nothing changed (the cards are older than two
#             seconds, as between two cron runs);
#   1%:       1% of the rows edited, 1% of the cards edited: `apply --yes`;
#   floors:   creating N files of the cards' size in a new folder (the file
#             system's create rate, which bounds the export), listing and
#             stat of every card file (`find -printf`), reading every card
#             file (`find -exec cat`), reading every row (`sqlite3`).
# Nothing is deleted until the end: ext4 skips recently freed inodes when it
# allocates, so files removed just before a run slow its creates.
# Prints wall time and peak memory per job and size as a Markdown table.
# It is a benchmark, not a test: CI does not run it.
#   bash benches/crm-vdir.sh [N ...]        (default: 10000 50000 100000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 50000 100000)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/abgleich"
echo "abgleich $(git -C "$root" rev-parse --short HEAD), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# N CRM rows (the sync bench's people) and an empty card folder.
generate() {
  python3 - "$1" "$2" <<'PY'
import os, sqlite3, sys
work, n = sys.argv[1], int(sys.argv[2])
given = ["Anna", "Jörg", "Zoë", "Mehmet", "Søren", "Birgit", "Ulrike", "Paul"]
family = ["Schröder", "Müller", "Weiß", "Yılmaz", "Krämer", "Becker", "Lange", "Roth"]
os.makedirs(os.path.join(work, "outlook"))
db = sqlite3.connect(os.path.join(work, "crm.sqlite"))
db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, "
           "company TEXT, email TEXT, phone TEXT, city TEXT, notes TEXT, updated_at TEXT)")
db.executemany("INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,'2026-01-01 00:00:00')",
               ((i + 1, given[i % 8], "%s%d" % (family[(i // 8) % 8], i), "Firma %d GmbH" % (i % 997),
                 "person%d@firma%d.example.de" % (i, i % 997), "030 %07d" % (1_000_000 + i),
                 "Berlin", "Kunde seit 2019.") for i in range(n)))
db.commit()
PY
  sed -n '/^pub const CONFIG/,/^"#;/p' "$root/benches/common/mod.rs" | sed '1d;$d' >"$1/abgleich.toml"
}

# 1% of the rows get a new city, 1% of the cards (others) a new title.
change() {
  python3 - "$1" <<'PY'
import os, sqlite3, sys
work = sys.argv[1]
db = sqlite3.connect(os.path.join(work, "crm.sqlite"))
db.execute("UPDATE customers SET city = 'Hamburg', updated_at = '2026-02-01 00:00:00' WHERE id % 100 = 1")
db.commit()
folder = os.path.join(work, "outlook")
for name in sorted(os.listdir(folder))[50::100]:
    p = os.path.join(folder, name)
    text = open(p, encoding="utf-8", newline="").read()
    open(p, "w", encoding="utf-8", newline="").write(text.replace("END:VCARD", "TITLE:Einkauf\r\nEND:VCARD"))
PY
}

# shellcheck source=measure.sh
source "$root/benches/measure.sh"

for n in "${sizes[@]}"; do
  d="$work/$n"
  generate "$d" "$n"
  cfg="$d/abgleich.toml"
  sync
  measure "$n-export" "$bin" --config "$cfg" apply --yes
  sleep 2.5
  measure "$n-noop" "$bin" --config "$cfg" plan
  grep -q "nothing to do" "$work/$n-noop.out" || {
    echo "the no-op plan at $n is not empty:"
    head "$work/$n-noop.out"
  }
  measure "$n-create" python3 -c "
import os, sys
d = sys.argv[1]
os.mkdir(d)
for i in range($n):
    with open(os.path.join(d, 'f%d.vcf' % i), 'w') as f:
        f.write('x' * 400)
" "$d/floor"
  measure "$n-stat" find "$d/outlook" -type f -printf '%s %T@\n'
  measure "$n-cat" find "$d/outlook" -type f -exec cat {} +
  if command -v sqlite3 >/dev/null; then
    measure "$n-rows" sqlite3 "$d/crm.sqlite" "SELECT * FROM customers" >/dev/null
  else
    echo "0 0" >"$work/$n-rows"
  fi
  change "$d"
  sleep 2.5
  measure "$n-change" "$bin" --config "$cfg" apply --yes
done

printf '\n| N | export | no-op plan | 1%% changed | create N files | stat every card | read every card | read every row |\n|---|---|---|---|---|---|---|---|\n'
for n in "${sizes[@]}"; do
  row="| $n"
  for job in export noop change create stat cat rows; do
    read -r t m <"$work/$n-$job"
    row+=$(printf ' | %.2f s, %.0f MiB' "$t" "$(echo "$m / 1024" | bc -l)")
  done
  echo "$row |"
done
