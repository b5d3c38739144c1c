#!/usr/bin/env bash
# abgleich against vdirsyncer on vdirsyncer's own job: two card folders
# (vdir <-> vdir) kept in agreement, the same generated cards for both, the
# three jobs of issue 14 for each tool in one run:
#   1. first sync: A holds N cards, B is empty;
#   2. nothing changed;
#   3. 1% of the cards modified in A, 1% deleted in B.
# Each job starts 2.5 s after the one before it (the first sync 2.5 s after
# A is copied in place), for both tools, as between two cron runs: abgleich
# reads again a card file changed in the two seconds before its listing (a
# change in the same clock tick would not show in its size and modification
# time), so a run right after the copy would not remember A's cards, and a
# run right after the first sync would read again the cards it just wrote.
# Prints wall time and peak memory per job and tool, and the ratios.
# It is a benchmark, not a test: CI does not run it.
#   bash benches/vdirsyncer.sh [N ...]        (default: 10000)
# vdirsyncer is installed from PyPI into target/bench-venv-vdirsyncer; when
# that cannot be done, the script says so and stops (exit 0).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

venv="$root/target/bench-venv-vdirsyncer"
if [ ! -x "$venv/bin/vdirsyncer" ]; then
  if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q vdirsyncer; } >"$work/pip.log" 2>&1; then
    echo "skipped: vdirsyncer could not be installed from PyPI into $venv:"
    tail -5 "$work/pip.log"
    exit 0
  fi
fi
vds="$venv/bin/vdirsyncer"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/abgleich"
echo "vdirsyncer $("$vds" --version 2>/dev/null | awk '{print $NF}'), abgleich $(git -C "$root" rev-parse --short HEAD), $(nproc) cores"

# N realistic vCard 3.0 cards (about 600 bytes each), one file per card.
generate() {
  python3 - "$1" "$2" <<'PY'
import os, random, sys
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
random.seed(7)
first = ["Hans", "Jürgen", "Anna", "Søren", "Zoë", "Petra", "Klaus", "Maria", "Ömer", "Chloé"]
last = ["Müller", "Schmidt", "Groß", "Weiß", "Becker", "Hoffmann", "Schäfer", "Koch", "Łukasz", "Nguyen"]
city = ["Berlin;;10115", "Hamburg;;20095", "München;;80331", "Köln;;50667"]
for i in range(n):
    f, l = random.choice(first), random.choice(last)
    card = ("BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//bench//EN\r\nUID:bench-%06d\r\n"
            "N:%s;%s;;;\r\nFN:%s %s\r\nORG:Firma %d GmbH;Vertrieb\r\nTITLE:Leitung Einkauf\r\n"
            "EMAIL;TYPE=INTERNET,WORK:%s.%s%d@example.de\r\nEMAIL;TYPE=INTERNET,HOME:%s%d@example.org\r\n"
            "TEL;TYPE=CELL:+49 171 %07d\r\nTEL;TYPE=WORK,VOICE:+49 30 %07d\r\n"
            "ADR;TYPE=WORK:;;Hauptstraße %d;%s;Deutschland\r\nURL:https://firma%d.example.de/\r\n"
            "BDAY:19%02d-%02d-%02d\r\nNOTE:Kunde seit 2019\\, bitte vor Besuch anrufen\r\n"
            "CATEGORIES:Kunden,Vertrieb\r\nREV:2026-01-01T00:00:00Z\r\nEND:VCARD\r\n") % (
        i, l, f, f, l, i, f.lower(), l.lower(), i, f.lower(), i, i, i, i % 300,
        random.choice(city), i, 40 + i % 60, 1 + i % 12, 1 + i % 28)
    with open(os.path.join(out, "bench-%06d.vcf" % i), "w", newline="", encoding="utf-8") as g:
        g.write(card)
PY
}

# Job 3's changes: every 100th card of A gets a new title, every 100th
# card of B (offset by 50) is removed.
change() {
  python3 - "$1" "$2" <<'PY'
import os, sys
a, b = sys.argv[1], sys.argv[2]
names = sorted(os.listdir(a))
for name in names[::100]:
    p = os.path.join(a, name)
    text = open(p, encoding="utf-8", newline="").read()
    open(p, "w", encoding="utf-8", newline="").write(text.replace("TITLE:Leitung Einkauf", "TITLE:Geschäftsführung"))
for name in sorted(os.listdir(b))[50::100]:
    os.remove(os.path.join(b, name))
PY
}

# shellcheck source=measure.sh
source "$root/benches/measure.sh"

setup_vdirsyncer() {
  local d=$1
  cat >"$d/vdirsyncer.conf" <<EOF
[general]
status_path = "$d/status/"

[pair p]
a = "a"
b = "b"
collections = null
conflict_resolution = "a wins"

[storage a]
type = "filesystem"
path = "$d/A/"
fileext = ".vcf"

[storage b]
type = "filesystem"
path = "$d/B/"
fileext = ".vcf"
EOF
  "$vds" -c "$d/vdirsyncer.conf" discover >/dev/null 2>&1 </dev/null || true
}

setup_abgleich() {
  local d=$1
  cat >"$d/abgleich.toml" <<EOF
[left]
name = "A"
kind = "vdir"
path = "A"
write_version = "3.0"

[right]
name = "B"
kind = "vdir"
path = "B"
write_version = "3.0"

[sync]
mode = "sync"
conflicts = "left"
deletes = { left_to_right = "propagate", right_to_left = "propagate" }
match = ["email"]
EOF
}

results=()
for n in "${sizes[@]}"; do
  generate "$work/cards-$n" "$n"
  # The first sync's floor: copying the folder (read and create N files).
  sync
  measure "cp-$n" cp -r "$work/cards-$n" "$work/floor-$n"
  for tool in vdirsyncer abgleich; do
    d="$work/$tool-$n"
    mkdir -p "$d/B"
    cp -r "$work/cards-$n" "$d/A"
    if [ "$tool" = vdirsyncer ]; then
      setup_vdirsyncer "$d"
      run=("$vds" -c "$d/vdirsyncer.conf" --verbosity=ERROR sync)
    else
      setup_abgleich "$d"
      run=("$bin" --config "$d/abgleich.toml" apply --yes)
    fi
    sync
    sleep 2.5
    measure "$tool-$n-first" "${run[@]}"
    sleep 2.5
    measure "$tool-$n-noop" "${run[@]}"
    change "$d/A" "$d/B"
    sleep 2.5
    measure "$tool-$n-change" "${run[@]}"
    # Both folders agree in the end.
    a=$(ls "$d/A" | wc -l)
    b=$(ls "$d/B" | wc -l)
    [ "$a" = "$b" ] || echo "warning: $tool at $n ends with $a cards in A and $b in B"
  done
  results+=("$n")
done

printf '\n| job | N | vdirsyncer | abgleich | time ratio | memory |\n|---|---|---|---|---|---|\n'
for n in "${results[@]}"; do
  read -r ct _ <"$work/cp-$n"
  printf '| floor: `cp -r` of A (read and create every file) | %d | | %.2f s | | |\n' "$n" "$ct"
  for job in first noop change; do
    read -r vt vm <"$work/vdirsyncer-$n-$job"
    read -r at am <"$work/abgleich-$n-$job"
    python3 - "$job" "$n" "$vt" "$vm" "$at" "$am" <<'PY'
import sys
job, n, vt, vm, at, am = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:])
names = {"first": "first sync (A full, B empty)", "noop": "nothing changed", "change": "1% modified in A, 1% deleted in B"}
if at <= vt:
    ratio = "abgleich %.1fx faster" % (vt / max(at, 0.005))
else:
    ratio = "abgleich %.1fx slower" % (at / max(vt, 0.005))
mem = "abgleich lower" if am < vm else "abgleich higher"
print("| %s | %d | %.2f s, %.0f MiB | %.2f s, %.0f MiB | %s | %s |" % (names[job], n, vt, vm / 1024, at, am / 1024, ratio, mem))
PY
  done
done
