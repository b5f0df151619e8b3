package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreKustomizeControllers(t *testing.T) {
	c, err := parseFlags([]string{"--dir", "d", "--kubeconfig", "k"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.FieldManager != "kustomize-controller" || c.Force || c.Concurrency != 4 || c.QPS != 50 || c.Burst != 300 {
		t.Fatalf("defaults differ from kustomize-controller's: %+v", c)
	}
	if c.waitInterval != 2*time.Second || c.waitTimeout != 60*time.Second {
		t.Fatalf("wait differs from ssa.DefaultApplyOptions: %v %v", c.waitInterval, c.waitTimeout)
	}
	if strings.Join(c.Phases, ",") != "apply,noop,change,prune" {
		t.Fatalf("phases: %v", c.Phases)
	}
	opts := applyOptions(c)
	if opts.Force || opts.ForceSelector[group+"/force"] != "enabled" || len(opts.Cleanup.FieldManagers) != 4 {
		t.Fatalf("apply options: %+v", opts)
	}
}

func TestBadFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--kubeconfig", "k"},
		{"--dir", "d"},
		{"--dir", "d", "--kubeconfig", "k", "--phases", "apply,teleport"},
		{"--dir", "d", "--kubeconfig", "k", "--concurrency", "0"},
		{"--dir", "d", "--kubeconfig", "k", "extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

func TestCounterCountsByVerbDryRunAndDiscovery(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	c := newCounter(http.DefaultTransport)
	hc := &http.Client{Transport: c}
	for _, req := range []struct{ method, path string }{
		{"GET", "/apis"}, {"GET", "/apis/apps/v1"}, {"GET", "/api/v1/namespaces/a/configmaps/b"},
		{"PATCH", "/api/v1/namespaces/a/configmaps/b?dryRun=All"}, {"PATCH", "/api/v1/namespaces/a/configmaps/b"},
	} {
		r, _ := http.NewRequest(req.method, srv.URL+req.path, nil)
		resp, err := hc.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	byVerb, dryRun, discovery := c.snapshot()
	if byVerb["GET"] != 3 || byVerb["PATCH"] != 2 || sum(dryRun) != 1 || sum(discovery) != 2 {
		t.Fatalf("by verb %v, dry run %v, discovery %v", byVerb, dryRun, discovery)
	}
}
