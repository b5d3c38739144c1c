# Sourced by the bench scripts. `measure LABEL CMD...`: runs CMD, its output
# into $work/LABEL.out, its wall seconds and peak KiB into $work/LABEL; a
# failure shows the output's end and stops the bench.
measure() {
  local label=$1
  shift
  /usr/bin/time -f "%e %M" -o "$work/$label" "$@" >"$work/$label.out" 2>&1 || {
    echo "$label failed:"
    tail -20 "$work/$label.out"
    exit 1
  }
}
