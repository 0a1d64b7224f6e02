#!/usr/bin/env bash
# The demo of `make demo`: start the local fleet and show that every member is a real
# cluster, by running the same Deployment on each and listing where its pods landed.
set -euo pipefail
cd "$(dirname "$0")/.."
flotilla=.venv/bin/flotilla
kubectl="_output/bin/kubectl"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "Starting the local fleet: a hub and member clusters, each a real control plane"
$flotilla dev up
kubeconfig=$($flotilla dev kubeconfig)
members=$($flotilla dev status -o json | .venv/bin/python -c \
  'import json,sys; print(" ".join(c["name"] for c in json.load(sys.stdin)["clusters"] if c["role"] == "member"))')

say "Running a 2-replica Deployment on every member"
for member in $members; do
  $kubectl --kubeconfig "$kubeconfig" --context "$member" create deployment demo \
    --image=nginx:1.27 --replicas=2 --dry-run=client -o yaml |
    $kubectl --kubeconfig "$kubeconfig" --context "$member" apply -f - >/dev/null
done
for member in $members; do
  $kubectl --kubeconfig "$kubeconfig" --context "$member" rollout status deployment/demo \
    --timeout=60s >/dev/null
  echo "--- $member"
  $kubectl --kubeconfig "$kubeconfig" --context "$member" get pods -l app=demo -o wide
done

say "The hub stores and runs nothing: it has no nodes"
$kubectl --kubeconfig "$kubeconfig" --context hub get nodes

cat <<EOT

The fleet keeps running. Try:
  export KUBECONFIG=$kubeconfig
  kubectl config get-contexts
  $flotilla dev fault ${members%% *} hang     # then: heal
  $flotilla dev down                          # stop it (data kept; --purge deletes it)
EOT
