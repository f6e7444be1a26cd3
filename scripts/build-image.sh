#!/usr/bin/env bash
# Builds the container image from scripts/docker/Containerfile.scratch with buildah: FROM
# scratch, static binaries, Debian's static busybox for the entrypoint's shell. Needs no
# registry and no daemon (chroot isolation).
#   make image                          → localhost/vernemq-go:<version>
#   IMAGE=registry.example/vernemq-go:1 STORAGE_DRIVER=overlay make image
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
IMAGE=${IMAGE:-localhost/vernemq-go:$VERSION}
command -v buildah >/dev/null || { echo "build-image: buildah missing (bash scripts/install-deploy-deps.sh)" >&2; exit 1; }
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 ||
  { echo "build-image: needs a static /bin/busybox (Debian package busybox-static)" >&2; exit 1; }
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/vernemq-go/vernemq/pkg/node.Version=$VERSION" -o "$ctx/" ./cmd/vernemq ./cmd/vmq-admin ./cmd/vmq-passwd
cp /bin/busybox scripts/docker/vernemq.sh scripts/docker/vernemq.conf conf/vmq.acl "$ctx/"
cp scripts/docker/Containerfile.scratch "$ctx/Containerfile"
chmod 0755 "$ctx/busybox" "$ctx/vernemq.sh"
buildah --storage-driver "${STORAGE_DRIVER:-vfs}" bud --isolation chroot --layers=false -t "$IMAGE" -f "$ctx/Containerfile" "$ctx"
echo "build-image: $IMAGE (run: podman run --network host -e DOCKER_VERNEMQ_ALLOW_ANONYMOUS=on $IMAGE)"
