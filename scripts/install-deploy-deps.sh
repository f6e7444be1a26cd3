#!/usr/bin/env bash
# Installs what the deployment tests need; idempotent, fast when everything is there.
#   ansible-playbook  Debian package ansible-core (falls back to ansible)
#   helm, kubeconform  built with `go install` into $VMQ_TOOLS/bin (default ~/.cache/vernemq-tools)
#   Kubernetes schemas  $VMQ_TOOLS/k8s-schemas, made from the swagger.json that the Go module
#                      k8s.io/cli-runtime ships (the usual schema site is not reachable offline)
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${VMQ_TOOLS:-$HOME/.cache/vernemq-tools}
HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
CLI_RUNTIME_VERSION=v0.37.0 # its artifacts/openapi/swagger.json is the Kubernetes 1.24 API
mkdir -p "$TOOLS/bin"

if ! command -v ansible-playbook >/dev/null; then
  echo "install-deploy-deps: installing ansible-core"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq --no-install-recommends ansible-core ||
    $SUDO apt-get install -y -qq --no-install-recommends ansible
fi

# The container image test (test/deploy TestContainerImage) builds and runs the image with
# buildah (vfs storage, chroot isolation: no daemon, no registry); busybox-static gives the
# FROM-scratch image its shell for the entrypoint; puppet (Debian's puppet-agent) applies
# scripts/puppet, ruby (erb, ruby -c) checks scripts/chef.
apt_need=()
command -v buildah >/dev/null || apt_need+=(buildah)
command -v puppet >/dev/null || apt_need+=(puppet-agent)
command -v ruby >/dev/null && command -v erb >/dev/null || apt_need+=(ruby)
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || apt_need+=(busybox-static)
if [ ${#apt_need[@]} -gt 0 ]; then
  echo "install-deploy-deps: installing ${apt_need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq --no-install-recommends "${apt_need[@]}"
fi

# go_tool NAME MODULE VERSION: rebuilt only when the stamped version differs.
go_tool() {
  local name=$1 mod=$2 ver=$3
  if [ -x "$TOOLS/bin/$name" ] && [ "$(cat "$TOOLS/bin/$name.version" 2>/dev/null)" = "$ver" ]; then return; fi
  echo "install-deploy-deps: go install $mod@$ver (a few minutes the first time)"
  GOBIN="$TOOLS/bin" GOFLAGS=-buildvcs=false go install "$mod@$ver"
  echo "$ver" >"$TOOLS/bin/$name.version"
}
go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION"
go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"

schemas=$TOOLS/k8s-schemas
if [ "$(cat "$schemas/.version" 2>/dev/null)" != "$CLI_RUNTIME_VERSION" ]; then
  dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "k8s.io/cli-runtime@$CLI_RUNTIME_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  swagger=$dir/artifacts/openapi/swagger.json
  [ -f "$swagger" ] || { echo "install-deploy-deps: no $swagger in k8s.io/cli-runtime@$CLI_RUNTIME_VERSION" >&2; exit 1; }
  rm -rf "$schemas"
  go run ./test/deploy/k8sschema -swagger "$swagger" -out "$schemas"
  echo "$CLI_RUNTIME_VERSION" >"$schemas/.version"
fi
echo "install-deploy-deps: ok (tools in $TOOLS)"
