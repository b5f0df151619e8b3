// Command fluxpeer applies the files `mofang-gitops render --out DIR` wrote the way Flux's
// kustomize-controller applies a Kustomization's build output, with github.com/fluxcd/pkg/ssa,
// so benchmarks/run.py can measure Flux's apply engine on the same objects as ours.
//
// Phases (each timed, requests counted by verb through a wrapping http.RoundTripper):
//
//	apply   ApplyAllStaged of every object into the cluster (from empty in a benchmark)
//	noop    the same again: a reconcile with nothing changed (one dry-run apply per object)
//	change  one object changed (an annotation added), the whole set reconciled again
//	prune   the last --prune-count objects dropped from the set: the set reconciled again and
//	        the objects no longer in the inventory deleted, as kustomize-controller's prune does
//
// The last line of stdout is one JSON object with every figure (see report).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/normalize"
	ssautil "github.com/fluxcd/pkg/ssa/utils"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

const (
	// ssaVersion is the github.com/fluxcd/pkg/ssa version go.mod pins (reported, not enforced).
	ssaVersion = "v0.78.0"
	// group is kustomize.toolkit.fluxcd.io, the API group kustomize-controller labels with.
	group = "kustomize.toolkit.fluxcd.io"
)

var allPhases = []string{"apply", "noop", "change", "prune"}

// config holds the parsed flags.
type config struct {
	Dir            string   `json:"dir"`
	Kubeconfig     string   `json:"-"`
	Context        string   `json:"context,omitempty"`
	Phases         []string `json:"phases"`
	FieldManager   string   `json:"field_manager"`
	Force          bool     `json:"force"`
	Concurrency    int      `json:"concurrency"`
	QPS            float32  `json:"qps"`
	Burst          int      `json:"burst"`
	WaitInterval   string   `json:"wait_interval"`
	WaitTimeout    string   `json:"wait_timeout"`
	PruneCount     int      `json:"prune_count"`
	Timeout        string   `json:"timeout"`
	waitInterval   time.Duration
	waitTimeout    time.Duration
	timeout        time.Duration
	kustomization  string
	kustomizationN string
}

// parseFlags reads argv; the defaults are kustomize-controller's own (see benchmarks/README.md).
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("fluxpeer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	var phases string
	fs.StringVar(&c.Dir, "dir", "", "directory `mofang-gitops render --out` wrote (read recursively, *.yaml/*.yml)")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig of the cluster to apply to")
	fs.StringVar(&c.Context, "context", "", "kubeconfig context (default: its current context)")
	fs.StringVar(&phases, "phases", strings.Join(allPhases, ","), "comma-separated phases to run, in order: apply,noop,change,prune")
	fs.StringVar(&c.FieldManager, "field-manager", "kustomize-controller", "field manager (kustomize-controller's --controller-name default)")
	fs.BoolVar(&c.Force, "force", false, "ApplyOptions.Force (a Kustomization's spec.force, false by default)")
	fs.IntVar(&c.Concurrency, "concurrency", 4, "ResourceManager concurrency (kustomize-controller's --concurrent-ssa default)")
	var qps float64
	fs.Float64Var(&qps, "qps", 50, "client QPS (kustomize-controller's --kube-api-qps default)")
	fs.IntVar(&c.Burst, "burst", 300, "client burst (kustomize-controller's --kube-api-burst default)")
	fs.DurationVar(&c.waitInterval, "wait-interval", 2*time.Second, "ApplyAllStaged's poll interval for CRDs/Namespaces/classes (ssa.DefaultApplyOptions, which kustomize-controller keeps)")
	fs.DurationVar(&c.waitTimeout, "wait-timeout", 60*time.Second, "ApplyAllStaged's wait timeout (ssa.DefaultApplyOptions)")
	fs.IntVar(&c.PruneCount, "prune-count", 1, "objects the prune phase drops from the set and deletes")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Minute, "give up after this long")
	fs.StringVar(&c.kustomization, "kustomization-name", "fluxpeer", "name in the owner labels (a Kustomization's name)")
	fs.StringVar(&c.kustomizationN, "kustomization-namespace", "flux-system", "namespace in the owner labels")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if c.Dir == "" {
		return nil, errors.New("--dir is required")
	}
	if c.Kubeconfig == "" {
		return nil, errors.New("--kubeconfig is required")
	}
	known := map[string]bool{}
	for _, p := range allPhases {
		known[p] = true
	}
	for _, p := range strings.Split(phases, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !known[p] {
			return nil, fmt.Errorf("--phases: unknown phase %q (known: %s)", p, strings.Join(allPhases, ","))
		}
		c.Phases = append(c.Phases, p)
	}
	if len(c.Phases) == 0 {
		return nil, errors.New("--phases: no phase given")
	}
	if c.Concurrency < 1 {
		return nil, errors.New("--concurrency must be at least 1")
	}
	if c.PruneCount < 0 {
		return nil, errors.New("--prune-count must not be negative")
	}
	c.QPS = float32(qps)
	c.WaitInterval, c.WaitTimeout, c.Timeout = c.waitInterval.String(), c.waitTimeout.String(), c.timeout.String()
	return c, nil
}

// counter counts the requests that go through it, by verb; dry-run and discovery apart.
type counter struct {
	next                      http.RoundTripper
	mu                        sync.Mutex
	byVerb, dryRun, discovery map[string]int
}

func newCounter(next http.RoundTripper) *counter {
	c := &counter{next: next}
	c.reset()
	return c
}

func (c *counter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byVerb, c.dryRun, c.discovery = map[string]int{}, map[string]int{}, map[string]int{}
}

// isDiscovery tells the API discovery documents (/api, /apis, /apis/G/V, /openapi...) from
// requests about objects, so a fresh client's RESTMapper warm-up is visible on its own.
func isDiscovery(path string) bool {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case parts[0] == "openapi":
		return true
	case parts[0] == "api":
		return len(parts) <= 2
	case parts[0] == "apis":
		return len(parts) <= 3
	}
	return false
}

func (c *counter) RoundTrip(req *http.Request) (*http.Response, error) {
	verb := req.Method
	c.mu.Lock()
	c.byVerb[verb]++
	if req.URL.Query().Get("dryRun") != "" {
		c.dryRun[verb]++
	}
	if isDiscovery(req.URL.Path) {
		c.discovery[verb]++
	}
	c.mu.Unlock()
	return c.next.RoundTrip(req)
}

func (c *counter) snapshot() (map[string]int, map[string]int, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return copyMap(c.byVerb), copyMap(c.dryRun), copyMap(c.discovery)
}

func copyMap(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// phaseResult is one phase's figures in the JSON report.
type phaseResult struct {
	Seconds           float64        `json:"seconds"`
	ClientCPUSeconds  float64        `json:"client_cpu_seconds"`
	Requests          map[string]int `json:"requests"`
	TotalRequests     int            `json:"total_requests"`
	DryRunRequests    int            `json:"dry_run_requests"`
	DiscoveryRequests int            `json:"discovery_requests"`
	Objects           int            `json:"objects"`
	Actions           map[string]int `json:"actions"`
	Deleted           int            `json:"deleted,omitempty"`
}

// report is the JSON line fluxpeer prints.
type report struct {
	Tool    string                  `json:"tool"`
	SSA     string                  `json:"ssa_version"`
	Files   int                     `json:"files"`
	Objects int                     `json:"objects"`
	Options *config                 `json:"options"`
	Phases  map[string]*phaseResult `json:"phases"`
}

// readObjects reads every *.yaml/*.yml under dir, in path order, as Flux reads a build output.
func readObjects(dir string) ([]*unstructured.Unstructured, int, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	sort.Strings(paths)
	var objects []*unstructured.Unstructured
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return nil, 0, err
		}
		objs, err := ssautil.ReadObjects(f)
		_ = f.Close()
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", path, err)
		}
		objects = append(objects, objs...)
	}
	if len(objects) == 0 {
		return nil, 0, fmt.Errorf("%s: no Kubernetes objects in *.yaml/*.yml files", dir)
	}
	return objects, len(paths), nil
}

// applyOptions are the options kustomize-controller's apply() sets, with a Kustomization's
// defaults (no force, no drift-ignore rules, no custom stages, no disallowed field managers).
func applyOptions(c *config) ssa.ApplyOptions {
	opts := ssa.DefaultApplyOptions()
	opts.Force = c.Force
	opts.WaitInterval = c.waitInterval
	opts.WaitTimeout = c.waitTimeout
	opts.ExclusionSelector = map[string]string{group + "/reconcile": "disabled", group + "/ssa": "Ignore"}
	opts.IfNotPresentSelector = map[string]string{group + "/ssa": "IfNotPresent"}
	opts.ForceSelector = map[string]string{group + "/force": "enabled"}
	opts.Cleanup = ssa.ApplyCleanupOptions{
		Annotations: []string{corev1.LastAppliedConfigAnnotation, group + "/checksum", "fluxcd.io/sync-checksum"},
		Labels:      []string{"fluxcd.io/sync-gc-mark"},
		FieldManagers: []ssa.FieldManager{
			{Name: "kubectl", OperationType: metav1.ManagedFieldsOperationApply},
			{Name: "kubectl", OperationType: metav1.ManagedFieldsOperationUpdate},
			{Name: "before-first-apply", OperationType: metav1.ManagedFieldsOperationUpdate},
			{Name: c.FieldManager, OperationType: metav1.ManagedFieldsOperationUpdate},
		},
		Exclusions: map[string]string{group + "/ssa": "Merge"},
	}
	return opts
}

// deepCopyAll copies the objects: ApplyAllStaged may mutate what it is given.
func deepCopyAll(objects []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objects))
	for i, o := range objects {
		out[i] = o.DeepCopy()
	}
	return out
}

// changeTarget picks the object the change phase modifies: the first namespaced object that is
// not a cluster or class definition (a ConfigMap if there is one), so only the last stage moves.
func changeTarget(objects []*unstructured.Unstructured) int {
	first := -1
	for i, o := range objects {
		if o.GetNamespace() == "" || ssautil.IsClusterDefinition(o) || ssautil.IsClassDefinition(o) {
			continue
		}
		if o.GetKind() == "ConfigMap" {
			return i
		}
		if first < 0 {
			first = i
		}
	}
	return first
}

// staleCandidates are the indexes of the last n namespaced, non-definition objects.
func staleCandidates(objects []*unstructured.Unstructured, n int) map[int]bool {
	out := map[int]bool{}
	for i := len(objects) - 1; i >= 0 && len(out) < n; i-- {
		o := objects[i]
		if o.GetNamespace() != "" && !ssautil.IsClusterDefinition(o) && !ssautil.IsClassDefinition(o) {
			out[i] = true
		}
	}
	return out
}

// inventoryObjects turns inventory entries into the bare objects DeleteAll takes, as
// kustomize-controller's inventory.List does.
func inventoryObjects(set object.ObjMetadataSet) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, 0, len(set))
	for _, m := range set {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(m.GroupKind.WithVersion(""))
		u.SetName(m.Name)
		u.SetNamespace(m.Namespace)
		out = append(out, u)
	}
	return out
}

// versions maps each object's group/kind to the apiVersion it was applied with (for DeleteAll).
func withVersions(stale []*unstructured.Unstructured, objects []*unstructured.Unstructured) {
	byGK := map[string]string{}
	for _, o := range objects {
		byGK[o.GroupVersionKind().GroupKind().String()] = o.GetAPIVersion()
	}
	for _, s := range stale {
		s.SetAPIVersion(byGK[s.GroupVersionKind().GroupKind().String()])
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func actions(cs *ssa.ChangeSet) map[string]int {
	out := map[string]int{}
	if cs == nil {
		return out
	}
	for _, e := range cs.Entries {
		out[e.Action.String()]++
	}
	return out
}

func run(args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	objects, files, err := readObjects(c.Dir)
	if err != nil {
		return err
	}
	// What kustomize-controller does to a build output before applying it.
	if err := normalize.UnstructuredList(objects); err != nil {
		return fmt.Errorf("normalize: %w", err)
	}

	loading := &clientcmd.ClientConfigLoadingRules{ExplicitPath: c.Kubeconfig}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: c.Context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(loading, overrides).ClientConfig()
	if err != nil {
		return fmt.Errorf("%s: %w", c.Kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = c.QPS, c.Burst
	var requests *counter
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		requests = newCounter(rt)
		return requests
	})
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return err
	}
	kube, err := client.New(cfg, client.Options{HTTPClient: httpClient, Mapper: mapper})
	if err != nil {
		return err
	}
	poller := polling.NewStatusPoller(kube, mapper, polling.Options{})
	manager := ssa.NewResourceManager(kube, poller, ssa.Owner{Field: c.FieldManager, Group: group})
	manager.SetOwnerLabels(objects, c.kustomization, c.kustomizationN)
	manager.SetConcurrency(c.Concurrency)
	opts := applyOptions(c)

	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()

	out := report{Tool: "fluxpeer", SSA: ssaVersion, Files: files, Objects: len(objects), Options: c,
		Phases: map[string]*phaseResult{}}
	var inventory object.ObjMetadataSet
	desired := objects
	for _, phase := range c.Phases {
		set := desired
		stale := map[int]bool{}
		switch phase {
		case "change":
			i := changeTarget(desired)
			if i < 0 {
				return errors.New("change: no namespaced object to change")
			}
			set = deepCopyAll(desired)
			ann := set[i].GetAnnotations()
			if ann == nil {
				ann = map[string]string{}
			}
			ann["benchmarks.mofang-gitops/changed"] = time.Now().UTC().Format(time.RFC3339Nano)
			set[i].SetAnnotations(ann)
		case "prune":
			stale = staleCandidates(desired, c.PruneCount)
			set = nil
			for i, o := range desired {
				if !stale[i] {
					set = append(set, o)
				}
			}
		}
		requests.reset()
		cpu0, wall0 := cpuSeconds(), time.Now()
		cs, err := manager.ApplyAllStaged(ctx, deepCopyAll(set), opts)
		if err != nil {
			return fmt.Errorf("%s: %w", phase, err)
		}
		result := &phaseResult{Objects: len(set), Actions: actions(cs)}
		applied := cs.ToObjMetadataSet()
		if phase == "prune" && inventory != nil {
			// kustomize-controller: stale = old inventory minus the new one, then DeleteAll.
			staleObjs := inventoryObjects(inventory.Diff(applied))
			withVersions(staleObjs, objects)
			deleted, err := manager.DeleteAll(ctx, staleObjs, ssa.DeleteOptions{
				PropagationPolicy: metav1.DeletePropagationBackground,
				Inclusions:        manager.GetOwnerLabels(c.kustomization, c.kustomizationN),
				Exclusions:        map[string]string{group + "/prune": "disabled", group + "/reconcile": "disabled"},
			})
			if err != nil {
				return fmt.Errorf("prune: %w", err)
			}
			for k, v := range actions(deleted) {
				result.Actions[k] += v
			}
			result.Deleted = len(deleted.Entries)
		}
		result.Seconds = time.Since(wall0).Seconds()
		result.ClientCPUSeconds = cpuSeconds() - cpu0
		byVerb, dryRun, discovery := requests.snapshot()
		result.Requests, result.TotalRequests = byVerb, sum(byVerb)
		result.DryRunRequests, result.DiscoveryRequests = sum(dryRun), sum(discovery)
		out.Phases[phase] = result
		inventory = applied
		if phase == "prune" || phase == "change" {
			desired = set
		}
		fmt.Fprintf(stderr, "[fluxpeer] %s: %d objects in %.2fs, %d requests, %v\n",
			phase, len(set), result.Seconds, result.TotalRequests, result.Actions)
	}
	line, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, string(line))
	return err
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "fluxpeer: %v\n", err)
		os.Exit(1)
	}
}
