#!/usr/bin/env bash
# Time `abgleich check` reading N contacts per side (default 100000) from a
# vCard file, a vdir and an SQLite table, with peak memory. Release build.
#   bash benches/read-stores.sh [N]
set -euo pipefail
n=${1:-100000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/abgleich"
python3 - "$work" "$n" <<'PY'
import os, random, sqlite3, sys
work, n = sys.argv[1], int(sys.argv[2])
random.seed(1)
first = ["Hans", "Jürgen", "Anna", "Søren", "Zoë", "Petra", "Klaus", "Maria"]
last = ["Müller", "Schmidt", "Groß", "Weiß", "Becker", "Hoffmann", "Schäfer", "Koch"]
os.mkdir(os.path.join(work, "book"))
db = sqlite3.connect(os.path.join(work, "crm.sqlite"))
db.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, given TEXT, family TEXT, org TEXT, email TEXT, mobile TEXT, updated TEXT)")
with open(os.path.join(work, "all.vcf"), "w", newline="") as out:
    for i in range(n):
        f, l = random.choice(first), random.choice(last)
        card = ("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:uid-%d\r\nN:%s;%s;;;\r\nFN:%s %s\r\nORG:Firma %d GmbH;Vertrieb\r\n"
                "TITLE:Leiter\r\nEMAIL;TYPE=INTERNET;TYPE=WORK:%s.%s%d@example.de\r\nTEL;TYPE=CELL:+49 171 %07d\r\n"
                "TEL;TYPE=WORK:030 %07d\r\nADR;TYPE=WORK:;;Hauptstraße %d;Berlin;;10115;Deutschland\r\n"
                "NOTE:Kunde seit 2019\\, wichtig\r\nCATEGORIES:CRM\r\nEND:VCARD\r\n") % (
                    i, l, f, f, l, i, f.lower(), l.lower(), i, i, i, i % 200)
        out.write(card)
        with open(os.path.join(work, "book", "c%06d.vcf" % i), "w", newline="") as g:
            g.write(card)
        db.execute("INSERT INTO c VALUES (?,?,?,?,?,?,?)", (i + 1, f, l, "Firma %d GmbH" % i,
                   "%s.%s%d@example.de" % (f.lower(), l.lower(), i), "0171 %07d" % i, "2026-01-01 00:00:00"))
db.commit()
PY
sql='[left]
kind = "sqlite"
path = "crm.sqlite"
table = "c"
id = "id"
modified = "updated"
[left.fields]
"name.given" = "given"
"name.family" = "family"
"org.name" = "org"
"email" = "email"
"phone.cell" = "mobile"'
printf '%s\n[right]\nkind = "vcard"\npath = "all.vcf"\n' "$sql" > "$work/file.toml"
printf '%s\n[right]\nkind = "vdir"\npath = "book"\n' "$sql" > "$work/vdir.toml"
printf '[left]\nkind = "vcard"\npath = "all.vcf"\n[right]\nkind = "vcard"\npath = "all.vcf"\n' > "$work/file2.toml"
echo "N = $n contacts per side"
for c in file2 file vdir; do
  /usr/bin/time -f "$c: %e s wall, %M KB peak" "$bin" check --config "$work/$c.toml" >/dev/null
done
