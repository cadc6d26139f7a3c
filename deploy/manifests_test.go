// Package deploy holds the container and cluster manifests of `dla serve`;
// its test checks them against the Kubernetes API types, as no cluster runs
// here.
package deploy

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// ServingRuntime is the part of KServe's ServingRuntime (a CRD, not in
// k8s.io/api) that our manifest uses, field for field as KServe's API
// reference gives it (serving.kserve.io/v1alpha1); an unknown or misspelt
// field fails strict decoding.
type ServingRuntime struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		SupportedModelFormats []struct {
			Name       string `json:"name"`
			Version    string `json:"version,omitempty"`
			AutoSelect *bool  `json:"autoSelect,omitempty"`
			Priority   *int32 `json:"priority,omitempty"`
		} `json:"supportedModelFormats"`
		ProtocolVersions []string            `json:"protocolVersions,omitempty"`
		MultiModel       *bool               `json:"multiModel,omitempty"`
		Disabled         *bool               `json:"disabled,omitempty"`
		Annotations      map[string]string   `json:"annotations,omitempty"`
		Labels           map[string]string   `json:"labels,omitempty"`
		NodeSelector     map[string]string   `json:"nodeSelector,omitempty"`
		Tolerations      []corev1.Toleration `json:"tolerations,omitempty"`
		Volumes          []corev1.Volume     `json:"volumes,omitempty"`
		Containers       []corev1.Container  `json:"containers"`
	} `json:"spec"`
}

// InferenceService is the part of KServe's InferenceService
// (serving.kserve.io/v1beta1) that the example uses.
type InferenceService struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Predictor struct {
			Model struct {
				ModelFormat struct {
					Name    string `json:"name"`
					Version string `json:"version,omitempty"`
				} `json:"modelFormat"`
				Runtime         string                      `json:"runtime,omitempty"`
				ProtocolVersion string                      `json:"protocolVersion,omitempty"`
				StorageURI      string                      `json:"storageUri,omitempty"`
				Resources       corev1.ResourceRequirements `json:"resources,omitempty"`
			} `json:"model"`
		} `json:"predictor"`
	} `json:"spec"`
}

// decode reads one manifest into v the way the API server does: field
// names case-sensitive, unknown and duplicate fields refused. It checks
// the kind too.
func decode(t *testing.T, path, apiVersion, kind string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSONStrict(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	strict, err := kjson.UnmarshalStrict(j, v, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil || len(strict) > 0 {
		t.Fatalf("%s: %v %v", path, err, strict)
	}
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(b, &tm); err != nil || tm.APIVersion != apiVersion || tm.Kind != kind {
		t.Fatalf("%s: %s %s, want %s %s", path, tm.APIVersion, tm.Kind, apiVersion, kind)
	}
}

func port(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// flagValue returns the value after flag in args.
func flagValue(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

func TestKubernetesManifests(t *testing.T) {
	var d appsv1.Deployment
	decode(t, "kubernetes/deployment.yaml", "apps/v1", "Deployment", &d)
	var svc corev1.Service
	decode(t, "kubernetes/service.yaml", "v1", "Service", &svc)
	var hpa autoscalingv2.HorizontalPodAutoscaler
	decode(t, "kubernetes/hpa.yaml", "autoscaling/v2", "HorizontalPodAutoscaler", &hpa)

	pod := d.Spec.Template
	for k, v := range d.Spec.Selector.MatchLabels {
		if pod.Labels[k] != v || svc.Spec.Selector[k] != v {
			t.Errorf("selector %s=%s does not match the pod template or the Service", k, v)
		}
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if c.Args[0] != "serve" || flagValue(c.Args, "--http") != "0.0.0.0:8080" || flagValue(c.Args, "--grpc") != "0.0.0.0:8081" {
		t.Errorf("args %q", c.Args)
	}
	if port(c, "http") != 8080 || port(c, "grpc") != 8081 {
		t.Errorf("ports %+v", c.Ports)
	}
	for name, probe := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe} {
		want := "/v2/health/live"
		if name == "readiness" {
			want = "/v2/health/ready"
		}
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != want || probe.HTTPGet.Port != intstr.FromString("http") {
			t.Errorf("%s probe %+v, want GET %s on the http port", name, probe, want)
		}
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
		if req.IsZero() || lim.IsZero() || req.Cmp(lim) > 0 {
			t.Errorf("%s request %v, limit %v", r, req.String(), lim.String())
		}
	}
	if sc := pod.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("the pod may run as root: %+v", sc)
	}
	if grace := pod.Spec.TerminationGracePeriodSeconds; grace == nil || *grace < 5+10 {
		t.Errorf("terminationGracePeriodSeconds %v is shorter than --drain-delay plus --timeout", grace)
	}
	for _, p := range svc.Spec.Ports {
		if port(c, p.TargetPort.String()) == 0 {
			t.Errorf("Service port %s targets %q, which the container does not name", p.Name, p.TargetPort.String())
		}
	}
	if ref := hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != d.Name || ref.APIVersion != "apps/v1" {
		t.Errorf("the HPA scales %+v, not the Deployment %s", ref, d.Name)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 1 || hpa.Spec.MaxReplicas < *hpa.Spec.MinReplicas {
		t.Errorf("HPA replicas %v..%d", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}
}

func TestKServeManifests(t *testing.T) {
	var rt ServingRuntime
	decode(t, "kserve/servingruntime.yaml", "serving.kserve.io/v1alpha1", "ServingRuntime", &rt)
	if !slices.Equal(rt.Spec.ProtocolVersions, []string{"v2", "grpc-v2"}) {
		t.Errorf("protocol versions %q", rt.Spec.ProtocolVersions)
	}
	if len(rt.Spec.Containers) != 1 || len(rt.Spec.SupportedModelFormats) == 0 {
		t.Fatalf("runtime %+v", rt.Spec)
	}
	c := rt.Spec.Containers[0]
	grpc := flagValue(c.Args, "--grpc")
	if c.Name != "kserve-container" || c.Args[0] != "serve" || flagValue(c.Args, "-w") != "/mnt/models" ||
		flagValue(c.Args, "--name") != "{{.Name}}" || !strings.HasSuffix(grpc, ":8081") {
		t.Errorf("container %s args %q", c.Name, c.Args)
	}
	if port(c, "h2c") != 8081 {
		t.Errorf("ports %+v: want the gRPC port named h2c", c.Ports)
	}

	var isvc InferenceService
	decode(t, "kserve/inferenceservice.yaml", "serving.kserve.io/v1beta1", "InferenceService", &isvc)
	m := isvc.Spec.Predictor.Model
	if m.Runtime != rt.Name || m.ModelFormat.Name != rt.Spec.SupportedModelFormats[0].Name ||
		!slices.Contains(rt.Spec.ProtocolVersions, m.ProtocolVersion) {
		t.Errorf("the InferenceService does not fit the runtime: %+v", m)
	}
}

// The image runs as a non-root user on a base with no shell, and serves on
// the ports the manifests use.
func TestDockerfile(t *testing.T) {
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var from, user, cmd, entry string
	var expose []string
	stages := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		word, rest, _ := strings.Cut(line, " ")
		switch word {
		case "FROM":
			from = rest
			stages++
		case "USER":
			user = rest
		case "EXPOSE":
			expose = strings.Fields(rest)
		case "CMD":
			cmd = rest
		case "ENTRYPOINT":
			entry = rest
		case "RUN":
			if strings.Contains(rest, "go build") && !strings.Contains(rest, "CGO_ENABLED=0") {
				t.Errorf("the build is not static: %s", line)
			}
		}
	}
	if stages < 2 || !(strings.HasPrefix(from, "gcr.io/distroless/static") || from == "scratch") {
		t.Errorf("%d stages, final FROM %q: want a multi-stage build onto distroless static or scratch", stages, from)
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" {
		t.Errorf("USER %q", user)
	}
	var args, ep []string
	if json.Unmarshal([]byte(cmd), &args) != nil || json.Unmarshal([]byte(entry), &ep) != nil {
		t.Fatalf("CMD %s, ENTRYPOINT %s: want JSON arrays", cmd, entry)
	}
	if !slices.Equal(ep, []string{"/dla"}) || args[0] != "serve" || !slices.Equal(expose, []string{"8080", "8081"}) ||
		flagValue(args, "--http") != "0.0.0.0:8080" || flagValue(args, "--grpc") != "0.0.0.0:8081" {
		t.Errorf("ENTRYPOINT %q CMD %q EXPOSE %q", ep, args, expose)
	}
	if _, err := os.Stat(filepath.Join("..", "cmd", "dla")); err != nil {
		t.Errorf("the Dockerfile builds ./cmd/dla: %v", err)
	}
}
