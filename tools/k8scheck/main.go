// Command k8scheck builds kustomize overlays and validates every object of
// the result offline, against the Kubernetes API's own Go types: each
// object is decoded strictly (an unknown or misspelled field, a wrong
// type, a malformed quantity is an error) into the type of its apiVersion
// and kind, and a kind it does not know is an error too. It stands in for
// kubeconform, whose JSON schemas are not reachable offline; the types
// are k8s.io/api at the version in go.mod.
//
//	k8scheck [-o FILE] DIR...
//
// With -o, the built objects of the last DIR are written to FILE as YAML
// (for tests that read the manifests as the cluster would get them).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kinds maps apiVersion/kind to a new value of its Go type.
var kinds = map[string]func() any{
	"v1/Namespace":                       func() any { return &corev1.Namespace{} },
	"v1/Service":                         func() any { return &corev1.Service{} },
	"v1/Secret":                          func() any { return &corev1.Secret{} },
	"v1/ConfigMap":                       func() any { return &corev1.ConfigMap{} },
	"v1/ServiceAccount":                  func() any { return &corev1.ServiceAccount{} },
	"v1/PersistentVolumeClaim":           func() any { return &corev1.PersistentVolumeClaim{} },
	"apps/v1/Deployment":                 func() any { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":                func() any { return &appsv1.StatefulSet{} },
	"batch/v1/Job":                       func() any { return &batchv1.Job{} },
	"policy/v1/PodDisruptionBudget":      func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy": func() any { return &networkingv1.NetworkPolicy{} },
}

func main() {
	out := flag.String("o", "", "write the built objects of the last directory to this file")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: k8scheck [-o FILE] DIR...")
		os.Exit(2)
	}
	failed := false
	var last []byte
	for _, dir := range flag.Args() {
		built, n, err := check(dir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", dir, err)
			failed = true
			continue
		}
		fmt.Printf("%s: %d objects valid\n", dir, n)
		last = built
	}
	if failed {
		os.Exit(1)
	}
	if *out != "" {
		if err := os.WriteFile(*out, last, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// check builds the kustomization in dir and validates its objects.
func check(dir string) ([]byte, int, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, 0, fmt.Errorf("kustomize build: %w", err)
	}
	built, err := res.AsYaml()
	if err != nil {
		return nil, 0, err
	}
	var errs []error
	for _, r := range res.Resources() {
		id := r.GetApiVersion() + "/" + r.GetKind()
		name := id + " " + r.GetName()
		mk, ok := kinds[id]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: kind not known to k8scheck", name))
			continue
		}
		b, err := r.AsYAML()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		if err := yaml.UnmarshalStrict(b, mk()); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		if bytes.Contains(b, []byte("\t")) {
			errs = append(errs, fmt.Errorf("%s: a tab in the YAML", name))
		}
	}
	return built, len(res.Resources()), errors.Join(errs...)
}
