#!/usr/bin/env bash
# Copies the Multi-Cluster Services CRDs (ServiceExport, ServiceImport) of the pinned
# sigs.k8s.io/mcs-api release into src/flotilla/discovery/crds/, where the controller reads
# them to install on members. Run after changing MCS_API_VERSION; the copies are committed
# (a test checks they carry this version's release label).
set -euo pipefail
MCS_API_VERSION=v0.5.2
here=$(cd "$(dirname "$0")" && pwd)
dir=$(cd /tmp && go mod download -json "sigs.k8s.io/mcs-api@$MCS_API_VERSION" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
out="$here/../src/flotilla/discovery/crds"
mkdir -p "$out"
for kind in serviceexports serviceimports; do
  install -m 0644 "$dir/config/crd/multicluster.x-k8s.io_$kind.yaml" "$out/"
done
echo "copied the mcs-api $MCS_API_VERSION CRDs into $out"
