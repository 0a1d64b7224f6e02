#!/usr/bin/env bash
# `make demo`: the main job end to end on the local fleet. A hub and three members start;
# a sample app is placed on them, divided by weight with a per-region image override; one
# member crashes and its replicas move; it heals and its stranded copy is cleaned up.
set -euo pipefail
cd "$(dirname "$0")/.."
flotilla=.venv/bin/flotilla
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "Starting the local fleet: a hub and 3 members, each a real control plane"
$flotilla dev up --members 3 2>/dev/null || $flotilla dev up
kubeconfig=$($flotilla dev kubeconfig)
kubectl() { _output/bin/kubectl --kubeconfig "$kubeconfig" "$@"; }
state=$(dirname "$kubeconfig")

say "dev up installed Flotilla's API on the hub and registered the members"
say "Starting the controller (health, placement, propagation)"
$flotilla controller run --kubeconfig "$kubeconfig" --metrics-bind-address 127.0.0.1:0 \
  >"$state/demo-controller.log" 2>&1 &
controller=$!
trap 'kill $controller 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  ready=$(kubectl --context hub get clusters -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{end}')
  [ "$ready" = "TrueTrueTrue" ] && break
  sleep 0.5
done
$flotilla cluster list

say "Creating the sample app on the hub (namespace demo): Deployment, Service, ConfigMap"
# A demo run before: its Placements go first, on purpose (the controller removes what they
# placed; a Placement whose namespace is deleted under it would hold its objects instead).
kubectl --context hub -n demo delete placements --all --ignore-not-found --timeout=120s >/dev/null 2>&1 || true
kubectl --context hub delete namespace demo --ignore-not-found --timeout=120s >/dev/null
kubectl --context hub create namespace demo
kubectl --context hub -n demo apply -f examples/demo/app.yaml
say "Placing it: 6 replicas divided 1:2:3, eu-west pulls from a European mirror"
kubectl --context hub -n demo apply -f examples/demo/placement.yaml
$flotilla placement preview web -n demo
kubectl --context hub -n demo wait placement/web --for=condition=Available --timeout=90s >/dev/null
$flotilla placement status web -n demo
for member in us-east eu-west ap-south; do
  printf '%-9s ' "$member"
  kubectl --context "$member" -n demo get deployment web \
    -o jsonpath='{.spec.replicas} replicas, image {.spec.template.spec.containers[0].image}, {.status.availableReplicas} available{"\n"}'
done

say "Crashing ap-south (SIGKILL of its API server)"
start=$(date +%s%N)
$flotilla dev fault ap-south crash
for _ in $(seq 1 240); do
  shares=$(kubectl --context hub -n demo get placement web -o jsonpath='{range .status.decisions[*]}{.cluster}={.replicas} {end}')
  available=$(kubectl --context hub -n demo get placement web -o jsonpath='{.status.conditions[?(@.type=="Available")].status}')
  case "$shares" in *ap-south*) ;; *) [ "$available" = True ] && break ;; esac
  sleep 0.25
done
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "replicas moved in $((elapsed_ms / 1000)).$(( (elapsed_ms % 1000) / 100 )) s: $shares"
$flotilla placement status web -n demo

say "Healing ap-south: its stranded copy is removed (failback is off, so the work stays put)"
$flotilla dev fault ap-south heal
for _ in $(seq 1 120); do
  kubectl --context ap-south -n demo get deployment web >/dev/null 2>&1 || break
  sleep 0.5
done
kubectl --context ap-south -n demo get deployments
$flotilla placement status web -n demo

cat <<EOT

Done. The fleet keeps running (the demo's controller stops now). Try, from $PWD:
  make shell                        # a shell with kubectl, flotilla and KUBECONFIG set; or:
  export PATH="$PWD/_output/bin:$PWD/.venv/bin:\$PATH" KUBECONFIG=$kubeconfig
  kubectl --context hub -n demo get placements
  flotilla controller run           # then edit a Deployment on a member and watch it revert
  flotilla dev down                 # stop the fleet (data kept; --purge deletes it)
EOT
