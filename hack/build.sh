#!/usr/bin/env bash
# Builds the fleet's upstream binaries (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok, kubectl) from the Go module pinned in hack/go.mod, and helm from its
# own module (hack/helm/go.mod: it would bump dependencies the Kubernetes binaries share),
# and flotilla-gotemplate (hack/gotemplate: ApplicationSets' Go templates) into _output/bin.
#
# Incremental: nothing is done when the binaries exist and were built from the same go.mod,
# go.sum and Go version; otherwise Go's build cache makes a rebuild cheap after the first.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${FLOTILLA_BUILD_DIR:-$here/../_output/bin}
mkdir -p "$out"
out=$(cd "$out" && pwd)
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl)
files=("${binaries[@]}" helm flotilla-gotemplate kwok-stages.yaml)

if ! command -v go >/dev/null 2>&1; then
  echo "error: Go is not installed; install Go >= $(sed -n 's/^go //p' "$here/go.mod") first" >&2
  exit 1
fi

cd "$here"
stamp=$( (cat go.mod go.sum helm/go.mod helm/go.sum gotemplate/go.mod gotemplate/go.sum \
  gotemplate/*.go; go version) | sha256sum | cut -c1-16)
complete=yes
for name in "${files[@]}"; do [ -e "$out/$name" ] || complete=no; done
if [ "$complete" = yes ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "binaries are up to date in $out"
  exit 0
fi

start=$(date +%s)
echo "==> downloading Go modules"
go mod download
total=$(go list -deps tool | wc -l)
echo "==> building ${binaries[*]} ($total packages; the first build takes several minutes)"
rm -f "$out/.stamp"
version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
minor=$(echo "$version" | cut -d. -f2)
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
go build -v -ldflags="$ldflags" -o "$out/" tool 2>&1 | awk -v total="$total" '
  /^#|error|cannot|undefined/ { print; next }
  { n++; if (n % 100 == 0) printf "    [%d/%d] %s\n", n, total, $0; fflush() }
  END { printf "    compiled %d packages (the rest were cached)\n", n }'
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || { echo "error: go build failed" >&2; exit "$status"; }
helm_version=$(cd helm && go list -m -f '{{.Version}}' helm.sh/helm/v3)
echo "==> building helm $helm_version"
(cd helm && go build -ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version" \
  -o "$out/helm" helm.sh/helm/v3/cmd/helm) || { echo "error: building helm failed" >&2; exit 1; }
echo "==> building flotilla-gotemplate"
(cd gotemplate && go build -ldflags="-s -w" -o "$out/flotilla-gotemplate" .) ||
  { echo "error: building flotilla-gotemplate failed" >&2; exit 1; }
# go names a binary after the last path element that is not a major version: etcd's is "server".
mv -f "$out/server" "$out/etcd"
# kwok runs nothing without Stage definitions; take kwok's own "fast" stages for nodes and
# pods and its lease heartbeat for nodes, from the pinned module.
kwok_dir=$(go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
  pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
  echo "---"
  cat "$kwok_dir/kustomize/stage/$stage.yaml"
done > "$out/kwok-stages.yaml"
echo "$stamp" > "$out/.stamp"
echo "==> built into $out in $(( $(date +%s) - start ))s"
