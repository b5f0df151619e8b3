# shellcheck shell=bash
# Build binaries of k8s.io/kubernetes from the Go module proxy. Sourced by
# scripts/control-plane-binaries (kube-apiserver, kubectl) and scripts/runtime-binaries
# (kube-scheduler, kube-controller-manager).
#
# Both scripts share one build module ($CACHE_ROOT/build/k8s-$K8S_VERSION), one GOMODCACHE and one
# GOCACHE, and its go.mod lists every binary either of them builds, so a second build is
# incremental and neither rewrites the other's go.mod/go.sum differently.
#
# k8s.io/kubernetes requires its staging modules at v0.0.0; the build module replaces each of them
# with the published $STAGING_VERSION (a missing replace fails as `k8s.io/X@v0.0.0: unknown
# revision`; an extra one is harmless).
#
# The caller defines CACHE_ROOT and log(), and holds an flock on $CACHE_ROOT/build/.lock while it
# calls k8s_build (the lock every script takes before touching the k8s build module).

K8S_VERSION="${MOFANG_K8S_VERSION:-v1.36.3}"
STAGING_VERSION="${MOFANG_K8S_STAGING_VERSION:-v0.36.3}"
K8S_STAGING=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
  cri-client cri-streaming csi-translation-lib dynamic-resource-allocation endpointslice
  externaljwt kms kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl
  kubelet metrics mount-utils pod-security-admission sample-apiserver sample-cli-plugin
  sample-controller streaming)
# Every k8s.io/kubernetes/cmd/<name> any script builds (the `tool` lines keep `go mod tidy` from
# dropping the requirements).
K8S_TOOLS=(kube-apiserver kubectl kube-scheduler kube-controller-manager)

# Environment of every Go build in the cache (call before `go`).
mofang_go_env() {
  export GOFLAGS="-mod=mod" CGO_ENABLED=0
  export GOMODCACHE="${GOMODCACHE:-$CACHE_ROOT/gomod}" GOCACHE="${GOCACHE:-$CACHE_ROOT/gocache}"
}

# k8s_build OUT_DIR NAME... : build k8s.io/kubernetes/cmd/NAME into OUT_DIR/NAME (atomically).
k8s_build() {
  local out=$1 mod="$CACHE_ROOT/build/k8s-$K8S_VERSION" s t n minor ldflags
  shift
  mkdir -p "$mod" "$out" || return
  {
    echo "module mofang.local/k8sbuild"
    echo
    echo "go 1.25"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "tool ("
    for t in "${K8S_TOOLS[@]}"; do echo "  k8s.io/kubernetes/cmd/$t"; done
    echo ")"
    echo
    echo "replace ("
    for s in "${K8S_STAGING[@]}"; do echo "  k8s.io/$s => k8s.io/$s $STAGING_VERSION"; done
    echo ")"
  } >"$mod/go.mod" || return
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  (cd "$mod" && log "resolving k8s.io/kubernetes $K8S_VERSION modules" && go mod tidy) || return
  for n in "$@"; do
    log "building $n $K8S_VERSION (cold: several minutes)"
    (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$out/.$n.tmp" "k8s.io/kubernetes/cmd/$n") \
      || return
    mv -f "$out/.$n.tmp" "$out/$n" || return
  done
}
