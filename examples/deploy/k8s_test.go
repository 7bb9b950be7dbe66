package deploy

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

type manifests struct {
	deploy  appsv1.Deployment
	service corev1.Service
	hpa     autoscalingv2.HorizontalPodAutoscaler
}

func readManifests(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{}
	for _, tc := range []struct {
		file, apiVersion, kind string
		into                   any
		typeMeta               func() (string, string)
	}{
		{"deployment.yaml", "apps/v1", "Deployment", &m.deploy, func() (string, string) { return m.deploy.APIVersion, m.deploy.Kind }},
		{"service.yaml", "v1", "Service", &m.service, func() (string, string) { return m.service.APIVersion, m.service.Kind }},
		{"hpa.yaml", "autoscaling/v2", "HorizontalPodAutoscaler", &m.hpa, func() (string, string) { return m.hpa.APIVersion, m.hpa.Kind }},
	} {
		b, err := os.ReadFile(filepath.Join("k8s", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(b, tc.into); err != nil {
			t.Fatalf("k8s/%s: not a valid %s %s: %v", tc.file, tc.apiVersion, tc.kind, err)
		}
		if v, k := tc.typeMeta(); v != tc.apiVersion || k != tc.kind {
			t.Errorf("k8s/%s: apiVersion %q kind %q, want %q %q", tc.file, v, k, tc.apiVersion, tc.kind)
		}
	}
	return m
}

// TestStrictDecodeRefuses: the strict decoding the manifests go through
// does refuse an unknown or misplaced field.
func TestStrictDecodeRefuses(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		into any
	}{
		{"apiVersion: v1\nkind: Service\nspec:\n  ports:\n  - port: 80\n    targetPrt: 8000\n", &corev1.Service{}},
		{"apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        livenessProbe:\n          path: /metrics\n", &appsv1.Deployment{}},
		{"apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec:\n  maxReplicas: 3\n  targetCPU: 50\n", &autoscalingv2.HorizontalPodAutoscaler{}},
		{"apiVersion: v1\nkind: Service\nspec:\n  ports:\n  - port: eighty\n", &corev1.Service{}},
	} {
		if err := yaml.UnmarshalStrict([]byte(tc.doc), tc.into); err == nil {
			t.Errorf("UnmarshalStrict took %q", tc.doc)
		}
	}
}

func containerPort(t *testing.T, c *corev1.Container, p intstr.IntOrString) int32 {
	t.Helper()
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named %q", c.Name, p.StrVal)
	return 0
}

func namedPort(t *testing.T, c *corev1.Container, name string) int32 {
	t.Helper()
	return containerPort(t, c, intstr.FromString(name))
}

// podEnv is the container's environment as gowsgi would see it: the
// image's ENV, then the Deployment's env.
func podEnv(t *testing.T, c *corev1.Container) []string {
	t.Helper()
	stages := readDockerfile(t, "Dockerfile")
	env := envOf(t, stages[len(stages)-1])
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Fatalf("env %s: valueFrom is not resolved by this test", e.Name)
		}
		env[e.Name] = e.Value
	}
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// podArgs is gowsgi's command line in the pod: the container's args (or
// the image's CMD when it has none) after the image's ENTRYPOINT, unless
// the container names its own command.
func podArgs(t *testing.T, c *corev1.Container) []string {
	t.Helper()
	stages := readDockerfile(t, "Dockerfile")
	entrypoint, cmd := containerCommand(t, stages[len(stages)-1])
	if len(c.Command) > 0 {
		entrypoint = c.Command
	}
	if len(c.Args) > 0 || len(c.Command) > 0 {
		cmd = c.Args
	}
	words := append(append([]string(nil), entrypoint...), cmd...)
	if len(words) < 2 || filepath.Base(words[0]) != "gowsgi" {
		t.Fatalf("the container runs %q, not gowsgi", words)
	}
	return words[1:]
}

// TestKubernetesManifests decodes the manifests into the Kubernetes API
// types and checks them against each other, the Dockerfile and gowsgi's
// own flag parsing.
func TestKubernetesManifests(t *testing.T) {
	m := readManifests(t)
	spec := &m.deploy.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(spec.Containers))
	}
	c := &spec.Containers[0]
	args := podArgs(t, c)
	cfg := printConfig(t, podEnv(t, c), args...)

	// The ports: gowsgi's flags, the container's ports, the image's
	// EXPOSE, the probes and the Service's targets agree.
	bind, metrics := mustFlag(t, args, "bind"), mustFlag(t, args, "metrics-bind")
	if cfg["bind"] != "["+bind+"]" {
		t.Errorf("--print-config bind = %s, want [%s]", cfg["bind"], bind)
	}
	if !strings.HasPrefix(bind, "0.0.0.0:") && !strings.HasPrefix(bind, ":") {
		t.Errorf("--bind %s: not reachable from outside the pod", bind)
	}
	if strings.HasPrefix(metrics, "127.") || strings.HasPrefix(metrics, "localhost:") {
		t.Errorf("--metrics-bind %s: the kubelet and Prometheus cannot reach it", metrics)
	}
	httpPort, metricsPort := namedPort(t, c, "http"), namedPort(t, c, "metrics")
	if p := port(bind); p != strconv.Itoa(int(httpPort)) {
		t.Errorf("--bind %s, containerPort http %d", bind, httpPort)
	}
	if p := port(metrics); p != strconv.Itoa(int(metricsPort)) {
		t.Errorf("--metrics-bind %s, containerPort metrics %d", metrics, metricsPort)
	}
	stages := readDockerfile(t, "Dockerfile")
	final := stages[len(stages)-1]
	exposed := ""
	for _, in := range final.all("EXPOSE") {
		exposed += " " + in.args + " "
	}
	for _, p := range []int32{httpPort, metricsPort} {
		if !strings.Contains(exposed, fmt.Sprintf(" %d ", p)) {
			t.Errorf("containerPort %d is not EXPOSEd by the Dockerfile (%s)", p, strings.TrimSpace(exposed))
		}
	}
	dockerCmd := dockerArgs(t, final)
	for _, flag := range []string{"bind", "metrics-bind"} {
		if d, k := mustFlag(t, dockerCmd, flag), mustFlag(t, args, flag); port(d) != port(k) {
			t.Errorf("--%s: %s in the Dockerfile's CMD, %s in the Deployment", flag, d, k)
		}
	}

	for _, tc := range []struct {
		name  string
		probe *corev1.Probe
		port  int32
		path  string
	}{
		// Liveness and start-up ask gowsgi's metrics listener, readiness the app.
		{"startupProbe", c.StartupProbe, metricsPort, "/metrics"},
		{"livenessProbe", c.LivenessProbe, metricsPort, "/metrics"},
		{"readinessProbe", c.ReadinessProbe, httpPort, "/healthz"},
	} {
		if tc.probe == nil || tc.probe.HTTPGet == nil {
			t.Errorf("%s: want an httpGet probe", tc.name)
			continue
		}
		if got := containerPort(t, c, tc.probe.HTTPGet.Port); got != tc.port || tc.probe.HTTPGet.Path != tc.path {
			t.Errorf("%s: GET %s on port %d, want %s on %d", tc.name, tc.probe.HTTPGet.Path, got, tc.path, tc.port)
		}
	}

	svcPorts := map[string]int32{}
	for _, sp := range m.service.Spec.Ports {
		svcPorts[sp.Name] = containerPort(t, c, sp.TargetPort)
	}
	if svcPorts["http"] != httpPort {
		t.Errorf("the Service's http port targets %d, the app listens on %d", svcPorts["http"], httpPort)
	}
	labels := m.deploy.Spec.Template.Labels
	for _, sel := range []map[string]string{m.service.Spec.Selector, m.deploy.Spec.Selector.MatchLabels} {
		if len(sel) == 0 {
			t.Errorf("an empty selector")
		}
		for k, v := range sel {
			if labels[k] != v {
				t.Errorf("selector %s=%s does not match the pod template's labels %v", k, v, labels)
			}
		}
	}

	// Stopping: the pod is killed only after preStop and the drain.
	graceful, err := time.ParseDuration(cfg["graceful-timeout"])
	if err != nil {
		t.Fatal(err)
	}
	var preStop time.Duration
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		t.Errorf("no preStop: requests routed while the endpoints are updated would be refused")
	} else if ps := c.Lifecycle.PreStop; ps.Sleep != nil {
		preStop = time.Duration(ps.Sleep.Seconds) * time.Second
	} else if ps.Exec != nil && len(ps.Exec.Command) == 2 && ps.Exec.Command[0] == "sleep" {
		if preStop, err = time.ParseDuration(ps.Exec.Command[1] + "s"); err != nil {
			t.Errorf("preStop %q: %v", ps.Exec.Command, err)
		}
	} else {
		t.Errorf("preStop %+v: want a sleep", ps)
	}
	if spec.TerminationGracePeriodSeconds == nil {
		t.Fatal("no terminationGracePeriodSeconds (the default 30 s is not derived from --graceful-timeout)")
	}
	if tg := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second; tg <= preStop+graceful {
		t.Errorf("terminationGracePeriodSeconds %v <= preStop %v + --graceful-timeout %v: requests in flight would be killed", tg, preStop, graceful)
	}

	// Runs as the image's user, not root, unprivileged.
	psc, csc := spec.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("the pod's securityContext lacks runAsNonRoot: true")
	}
	if user, ok := final.last("USER"); ok && psc != nil && psc.RunAsUser != nil {
		if uid, _, _ := strings.Cut(user.args, ":"); uid != strconv.FormatInt(*psc.RunAsUser, 10) {
			t.Errorf("runAsUser %d, the image's USER %s", *psc.RunAsUser, user.args)
		}
	}
	if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation ||
		csc.Capabilities == nil || len(csc.Capabilities.Drop) != 1 || csc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("the container's securityContext: want allowPrivilegeEscalation: false and capabilities dropped: %+v", csc)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources: want cpu and memory requests and a memory limit: %+v", c.Resources)
	}

	// The HPA scales this Deployment on a metric gowsgi has.
	ref := m.hpa.Spec.ScaleTargetRef
	if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || ref.Name != m.deploy.Name {
		t.Errorf("the HPA scales %s %s %s, not the Deployment %s", ref.APIVersion, ref.Kind, ref.Name, m.deploy.Name)
	}
	if m.hpa.Spec.MinReplicas == nil || *m.hpa.Spec.MinReplicas < 2 || m.hpa.Spec.MaxReplicas < *m.hpa.Spec.MinReplicas {
		t.Errorf("HPA replicas %v..%d: want at least 2, so that a rollout or a node drain keeps one serving", m.hpa.Spec.MinReplicas, m.hpa.Spec.MaxReplicas)
	}
	if len(hpaPodMetrics(t, &m.hpa)) == 0 {
		t.Errorf("the HPA has no Pods metric of gowsgi's")
	}
}

func hpaPodMetrics(t *testing.T, hpa *autoscalingv2.HorizontalPodAutoscaler) []string {
	t.Helper()
	var names []string
	for _, ms := range hpa.Spec.Metrics {
		if ms.Type != autoscalingv2.PodsMetricSourceType || ms.Pods == nil {
			continue
		}
		if ms.Pods.Target.Type != autoscalingv2.AverageValueMetricType || ms.Pods.Target.AverageValue == nil || ms.Pods.Target.AverageValue.IsZero() {
			t.Errorf("Pods metric %s: want an averageValue target", ms.Pods.Metric.Name)
		}
		names = append(names, ms.Pods.Metric.Name)
	}
	return names
}

// TestKubernetesPod runs gowsgi with the pod's args and environment on
// this machine (the ports and the app directory moved to this machine's)
// and sends it what the kubelet would: the probes must pass, and the
// metric the HPA scales on must be in /metrics.
func TestKubernetesPod(t *testing.T) {
	m := readManifests(t)
	c := &m.deploy.Spec.Template.Spec.Containers[0]
	args := podArgs(t, c)
	addr, metrics := freeAddr(t), freeAddr(t)
	args = setFlag(t, args, "chdir", appDir)
	args = setFlag(t, args, "bind", addr)
	args = setFlag(t, args, "metrics-bind", metrics)
	local := map[int32]string{namedPort(t, c, "http"): addr, namedPort(t, c, "metrics"): metrics}

	out := startGowsgi(t, podEnv(t, c), args)
	waitFor(t, out, "msg=listening", 60*time.Second)

	client := &http.Client{Timeout: 30 * time.Second}
	for _, tc := range []struct {
		name  string
		probe *corev1.Probe
	}{{"startupProbe", c.StartupProbe}, {"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}} {
		if tc.probe == nil || tc.probe.HTTPGet == nil {
			t.Errorf("%s: not an httpGet probe", tc.name)
			continue
		}
		// The kubelet counts 200 to 399 as success.
		url := "http://" + local[containerPort(t, c, tc.probe.HTTPGet.Port)] + tc.probe.HTTPGet.Path
		if status, _ := get(t, client, url); status < 200 || status >= 400 {
			t.Errorf("%s: GET %s = %d", tc.name, url, status)
		}
	}
	_, body := get(t, client, "http://"+metrics+"/metrics")
	for _, name := range hpaPodMetrics(t, &m.hpa) {
		if !strings.Contains(body, "\n"+name+" ") && !strings.Contains(body, "\n"+name+"{") {
			t.Errorf("the HPA scales on %s, which gowsgi's /metrics does not have", name)
		}
	}
}
