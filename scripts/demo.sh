#!/usr/bin/env bash
# Quick start: install, build, run deit-hub with its embedded defaults (SQLite under var/,
# five sample agencies, development certificates made on first start) and show one
# transfer from Hertfordshire Constabulary to Hertfordshire Fire and Rescue. The hub keeps
# running afterwards until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
mkdir -p var
build/hub/deit-hub > var/deit-hub.stdout 2>&1 &   # its log is var/deit-hub.log
HUB=$!
trap 'kill $HUB 2>/dev/null || true; wait $HUB 2>/dev/null || true' EXIT INT TERM
export DEIT_CERTS=var/certs
ctl=build/hub/deitctl
for _ in $(seq 1 100); do
  [ -f var/certs/hertfordshire-police.pem ] && $ctl --as hertfordshire-police health >/dev/null 2>&1 && break
  sleep 0.1
done

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# A fresh message id and incident reference each run, so every run makes a new transfer.
stamp=$(date -u +%Y%m%dT%H%M%S)
sed -e "s/HP-2026-000123-1/HP-$stamp-1/" -e "s/HP-20261123-0123/HP-$stamp/" samples/rtc-injury.xml > var/demo-incident.xml

step "Hertfordshire Constabulary sends an RTC (persons trapped) to Hertfordshire Fire and Rescue"
reply=$($ctl --as hertfordshire-police send var/demo-incident.xml)
echo "$reply"
transfer=$(echo "$reply" | grep -o '"id":"T-[^"]*"' | head -1 | cut -d'"' -f4)

step "Fire control's queue: the incident, translated into its own mobilising format (first lines)"
$ctl --as hertfordshire-fire watch --count 1 --timeout 5 | head -c 900; echo

step "Fire control accepts it"
$ctl --as hertfordshire-fire accept "$transfer" --reason "2 appliances and rescue unit mobilised" --operator "FC op 12"

step "Police control sees the acceptance (status message in its queue) and the transfer's history"
$ctl --as hertfordshire-police inbox --wait 2
$ctl --as hertfordshire-police show "$transfer"

step "Bedfordshire Police was not party to it and cannot see it"
$ctl --as bedfordshire-police show "$transfer" || true

step "A 999 call answered in Hertfordshire for a caller in Bedfordshire: no receiver named, so the hub routes it by location as a misrouted call"
sed -e "s/HP-2026-000123-1/HP-$stamp-2/" -e "s/HP-20261123-0123/HP-$stamp-M/" -e '/<receivers>/,/<\/receivers>/d' \
    -e '/<location>/,/<\/location>/c\    <location><bng easting="505000" northing="260000"/></location>' \
    samples/rtc-injury.xml > var/demo-misrouted.xml
$ctl --as hertfordshire-police send var/demo-misrouted.xml

step "Buddy arrangements: Hertfordshire's business continuity desk sees the board"
$ctl --as hertfordshire-police-bc buddy status

printf '\ndeit-hub is running on https://127.0.0.1:8443 (mutual TLS; certificates in var/certs, log in var/deit-hub.log).\n'
printf 'Try: %s --as hertfordshire-fire transfers --awaiting    Press Ctrl-C to stop.\n' "$ctl"
wait $HUB
