package main

// The deployment files (docker-compose.yml, deploy/kubernetes) checked
// offline: docker-compose's own loader, kustomize and the Kubernetes API
// types (k8scheck), and every rccd command line in them parsed and
// validated by rccd itself, so that a renamed flag or a plaintext
// listener shows here and not at deploy time.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/rcc-games/rcc/pkg/testenv"
)

// checkRccdArgs parses args as rccd's command line and runs its
// configuration checks, with env set, failing t on any refusal.
func checkRccdArgs(t *testing.T, args []string, env map[string]string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	if slices.Contains(args, "--insecure") || slices.Contains(args, "--insecure=true") {
		t.Errorf("rccd %s: --insecure in a deployment file", args[0])
	}
	cmd, rest, err := newRootCmd().Find(args)
	if err != nil {
		t.Fatalf("rccd %v: %v", args, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("rccd %v: %v", args, err)
	}
	if cmd.PreRunE == nil {
		t.Fatalf("rccd %s has no configuration check", cmd.CommandPath())
	}
	if err := cmd.PreRunE(cmd, cmd.Flags().Args()); err != nil {
		t.Fatalf("rccd %v refused: %v", args, err)
	}
}

// flagValue returns --name=VALUE's value from args.
func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

func TestComposeFile(t *testing.T) {
	dc := testenv.MustHaveCommand(t, "docker-compose", "make setup installs Debian's docker-compose")
	cmd := exec.Command(dc, "-f", "docker-compose.yml", "config")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "RCC_DB_PASSWORD=", "RCC_PUBLIC_HOST=", "RCC_CERT_HOSTS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, stderr.String())
	}
	var doc struct {
		Services map[string]struct {
			Image       string
			Command     []string
			Healthcheck map[string]any
			DependsOn   map[string]struct{ Condition string } `yaml:"depends_on"`
			Volumes     []any
		}
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("docker-compose config output: %v", err)
	}
	if doc.Services["postgres"].Healthcheck == nil {
		t.Error("postgres has no health check")
	}
	init := doc.Services["init"]
	if joined := strings.Join(init.Command, " "); !strings.Contains(joined, "rccd migrate") || !strings.Contains(joined, "rccd cert dev") {
		t.Errorf("init does not make certificates and run the migrations: %s", joined)
	}
	scraped := map[string]bool{}
	var rccd []string
	for name, s := range doc.Services {
		if len(s.Command) == 0 || (s.Command[0] != "coordinator" && s.Command[0] != "executor") {
			continue
		}
		rccd = append(rccd, name)
		t.Run(name, func(t *testing.T) {
			checkRccdArgs(t, s.Command, nil)
			if flagValue(s.Command, "tls-cert") == "" {
				t.Error("serves without TLS")
			}
			if s.DependsOn["init"].Condition != "service_completed_successfully" {
				t.Errorf("does not wait for init: %+v", s.DependsOn)
			}
			_, port, _ := strings.Cut(flagValue(s.Command, "metrics-addr"), ":")
			scraped[name+":"+port] = true
		})
	}
	slices.Sort(rccd)
	if strings.Join(rccd, ",") != "coordinator,executor-1,executor-2" {
		t.Fatalf("rccd services %v, want one coordinator and two executors", rccd)
	}
	// Prometheus scrapes every /metrics.
	b, err := os.ReadFile("../../deploy/compose/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var prom struct {
		ScrapeConfigs []struct {
			StaticConfigs []struct{ Targets []string } `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &prom); err != nil {
		t.Fatal(err)
	}
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, tg := range st.Targets {
				delete(scraped, tg)
			}
		}
	}
	if len(scraped) > 0 {
		t.Errorf("Prometheus does not scrape %v", scraped)
	}
}

// kubeObject is what the test reads of a built Kubernetes object.
type kubeObject struct {
	Kind     string
	Metadata struct{ Name string }
	Data     map[string]string
	Spec     struct {
		Replicas *int
		Template struct {
			Spec struct {
				Containers []struct {
					Name           string
					Args           []string
					ReadinessProbe map[string]any `yaml:"readinessProbe"`
					LivenessProbe  map[string]any `yaml:"livenessProbe"`
					Lifecycle      struct {
						PreStop map[string]any `yaml:"preStop"`
					}
					Resources struct {
						Requests map[string]string
					}
				}
				TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
			}
		}
	}
}

func TestKubernetesManifests(t *testing.T) {
	check := testenv.MustHaveCommand(t, "k8scheck", "make setup builds tools/k8scheck into bin/")
	dir := filepath.Join(t.TempDir(), "kubernetes")
	if err := os.CopyFS(dir, os.DirFS("../../deploy/kubernetes")); err != nil {
		t.Fatal(err)
	}
	// The dev overlay's secrets, as make-secrets.sh makes them.
	secrets := filepath.Join(dir, "overlays", "dev", "secrets")
	if code, _, errOut := rccd(t, "cert", "dev", "--dir", secrets, "--host", "rcc-coordinator",
		"--host", "*.rcc-executor.rcc-dev.svc.cluster.local", "--client", "rcc-executor-0", "--client", "rcc-executor-1"); code != exitOK {
		t.Fatal(errOut)
	}
	for _, x := range []string{"rcc-executor-0", "rcc-executor-1"} {
		code, tok, errOut := rccd(t, "token", "create", "--role", "executor", "--subject", x, "--data-dir", secrets)
		if code != exitOK {
			t.Fatal(errOut)
		}
		if err := os.WriteFile(filepath.Join(secrets, x), []byte(strings.TrimSpace(tok)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(secrets, "db-url"), []byte("postgres://rcc@postgres:5432/rcc"), 0o600); err != nil {
		t.Fatal(err)
	}

	built := filepath.Join(t.TempDir(), "dev.yaml")
	out, err := exec.Command(check, "-o", built, filepath.Join(dir, "overlays", "production"), filepath.Join(dir, "overlays", "dev")).CombinedOutput()
	if err != nil {
		t.Fatalf("k8scheck: %v\n%s", err, out)
	}
	t.Logf("%s", out)

	b, err := os.ReadFile(built)
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]kubeObject{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var o kubeObject
		if err := dec.Decode(&o); err != nil {
			break
		}
		objs[o.Kind+"/"+o.Metadata.Name] = o
	}
	for _, want := range []string{"Deployment/rcc-coordinator", "Service/rcc-coordinator", "StatefulSet/rcc-executor", "Service/rcc-executor",
		"PodDisruptionBudget/rcc-executor", "NetworkPolicy/rcc-executor", "NetworkPolicy/rcc-coordinator",
		"Secret/rcc-tls", "Secret/rcc-signing-key", "Secret/rcc-executor-tokens", "Secret/rcc-executor-certs", "Secret/rcc-db"} {
		if _, ok := objs[want]; !ok {
			t.Errorf("the dev overlay has no %s", want)
		}
	}
	sts := objs["StatefulSet/rcc-executor"]
	for _, w := range []struct {
		obj  kubeObject
		env  map[string]string
		name string
	}{
		{objs["Deployment/rcc-coordinator"], map[string]string{"RCC_DB": "postgres://rcc@postgres:5432/rcc"}, "coordinator"},
		{sts, nil, "executor"},
	} {
		t.Run(w.name, func(t *testing.T) {
			cs := w.obj.Spec.Template.Spec.Containers
			if len(cs) != 1 {
				t.Fatalf("%d containers", len(cs))
			}
			c := cs[0]
			if c.ReadinessProbe == nil || c.LivenessProbe == nil || c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" {
				t.Errorf("container %s lacks probes or resource requests", c.Name)
			}
			args := slices.Clone(c.Args)
			// Kubernetes expands $(VAR) from the container's environment.
			for i := range args {
				args[i] = strings.NewReplacer("$(RCC_NAME)", "rcc-executor-0", "$(RCC_PUBLIC_DOMAIN)", "rcc-executor.rcc-dev.svc.cluster.local").Replace(args[i])
			}
			checkRccdArgs(t, args, w.env)
		})
	}
	// Each executor has its token and client certificate in the Secrets.
	for i := range *sts.Spec.Replicas {
		name := "rcc-executor-" + strconv.Itoa(i)
		if _, ok := objs["Secret/rcc-executor-tokens"].Data[name]; !ok {
			t.Errorf("no token for %s", name)
		}
		if _, ok := objs["Secret/rcc-executor-certs"].Data[name+".crt"]; !ok {
			t.Errorf("no client certificate for %s", name)
		}
	}
	ex := sts.Spec.Template.Spec
	if ex.Containers[0].Lifecycle.PreStop == nil || ex.TerminationGracePeriodSeconds < 60+5 {
		t.Errorf("executors: preStop %v, grace %d s: want a preStop hook and time for the 60 s drain", ex.Containers[0].Lifecycle.PreStop, ex.TerminationGracePeriodSeconds)
	}

	// The check fails on a misspelled field.
	bad := filepath.Join(dir, "base", "executor.yaml")
	src, _ := os.ReadFile(bad)
	if err := os.WriteFile(bad, bytes.Replace(src, []byte("serviceName:"), []byte("serviceNam:"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(check, filepath.Join(dir, "overlays", "production")).CombinedOutput(); err == nil || !strings.Contains(string(out), `unknown field "serviceNam"`) {
		t.Fatalf("k8scheck passed a misspelled field: %v\n%s", err, out)
	}
}
