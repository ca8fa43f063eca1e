#!/bin/sh
# Writes the dev overlay's secrets/ with rccd: a local CA and certificates,
# the signing key, one token per executor, the database URL. Run it once
# before kubectl apply -k deploy/kubernetes/overlays/dev.
#   deploy/kubernetes/overlays/dev/make-secrets.sh [RCCD] [DB_URL]
set -eu
rccd=${1:-rccd}
db=${2:-postgres://rcc:rcc@postgres.rcc-dev.svc:5432/rcc?sslmode=disable}
dir=$(dirname "$0")/secrets
mkdir -p "$dir"
"$rccd" cert dev --dir "$dir" --host rcc-coordinator --host rcc-coordinator.rcc-dev.svc \
  --host '*.rcc-executor.rcc-dev.svc.cluster.local' --client rcc-executor-0 --client rcc-executor-1
for x in rcc-executor-0 rcc-executor-1; do
  "$rccd" token create --role executor --subject "$x" --ttl 8760h --data-dir "$dir" > "$dir/$x"
done
printf '%s' "$db" > "$dir/db-url"
echo "wrote $dir"
