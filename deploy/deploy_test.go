package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/migratebot/migratebot/config"
)

const (
	k8sDir        = "kubernetes"
	slackManifest = "../slack-app.yaml"
	appManifest   = "../app.yaml"
	dockerfile    = "../Dockerfile"
	secretsGo     = "../config/secrets.go"
	routesGo      = "../handlers/server.go"

	// What the bot expects of its pod.
	port         = 8080
	configPath   = "/etc/migratebot/config.yaml"
	secretName   = "migratebot"
	nonrootUID   = 65532
	drainSeconds = 20 // serve's shutdown timeout after SIGTERM
)

// Small views of the Kubernetes objects: only the fields checked here.
type (
	meta struct {
		Name        string            `yaml:"name"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	}
	selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	deployment struct {
		Kind     string `yaml:"kind"`
		Metadata meta   `yaml:"metadata"`
		Spec     struct {
			Replicas int      `yaml:"replicas"`
			Selector selector `yaml:"selector"`
			Template struct {
				Metadata meta    `yaml:"metadata"`
				Spec     podSpec `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	podSpec struct {
		ServiceAccountName            string          `yaml:"serviceAccountName"`
		AutomountServiceAccountToken  *bool           `yaml:"automountServiceAccountToken"`
		TerminationGracePeriodSeconds int             `yaml:"terminationGracePeriodSeconds"`
		SecurityContext               securityContext `yaml:"securityContext"`
		TopologySpreadConstraints     []struct {
			TopologyKey       string   `yaml:"topologyKey"`
			WhenUnsatisfiable string   `yaml:"whenUnsatisfiable"`
			LabelSelector     selector `yaml:"labelSelector"`
		} `yaml:"topologySpreadConstraints"`
		Affinity struct {
			PodAntiAffinity map[string]any `yaml:"podAntiAffinity"`
		} `yaml:"affinity"`
		Containers []container `yaml:"containers"`
		Volumes    []volume    `yaml:"volumes"`
	}
	securityContext struct {
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		RunAsUser                *int  `yaml:"runAsUser"`
		RunAsGroup               *int  `yaml:"runAsGroup"`
		Privileged               *bool `yaml:"privileged"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		Capabilities             struct {
			Add  []string `yaml:"add"`
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
		SeccompProfile struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	}
	probe struct {
		HTTPGet *struct {
			Path string    `yaml:"path"`
			Port yaml.Node `yaml:"port"` // a number or a port name
		} `yaml:"httpGet"`
	}
	container struct {
		Name  string   `yaml:"name"`
		Image string   `yaml:"image"`
		Args  []string `yaml:"args"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		Env []struct {
			Name      string `yaml:"name"`
			Value     string `yaml:"value"`
			ValueFrom *struct {
				SecretKeyRef *struct {
					Name     string `yaml:"name"`
					Key      string `yaml:"key"`
					Optional bool   `yaml:"optional"`
				} `yaml:"secretKeyRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		ReadinessProbe probe `yaml:"readinessProbe"`
		LivenessProbe  probe `yaml:"livenessProbe"`
		Lifecycle      struct {
			PreStop struct {
				Sleep struct {
					Seconds int `yaml:"seconds"`
				} `yaml:"sleep"`
			} `yaml:"preStop"`
		} `yaml:"lifecycle"`
		Resources struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		SecurityContext securityContext `yaml:"securityContext"`
		VolumeMounts    []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
			ReadOnly  bool   `yaml:"readOnly"`
		} `yaml:"volumeMounts"`
	}
	keyToPath struct {
		Key  string `yaml:"key"`
		Path string `yaml:"path"`
	}
	volume struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name  string      `yaml:"name"`
			Items []keyToPath `yaml:"items"`
		} `yaml:"configMap"`
		Secret *struct {
			SecretName string      `yaml:"secretName"`
			Items      []keyToPath `yaml:"items"`
		} `yaml:"secret"`
	}
	service struct {
		Kind     string `yaml:"kind"`
		Metadata meta   `yaml:"metadata"`
		Spec     struct {
			Selector map[string]string `yaml:"selector"`
			Ports    []struct {
				Name       string    `yaml:"name"`
				Port       int       `yaml:"port"`
				TargetPort yaml.Node `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	pdb struct {
		Kind string `yaml:"kind"`
		Spec struct {
			MinAvailable   any      `yaml:"minAvailable"`
			MaxUnavailable any      `yaml:"maxUnavailable"`
			Selector       selector `yaml:"selector"`
		} `yaml:"spec"`
	}
	serviceAccount struct {
		Kind                         string `yaml:"kind"`
		Metadata                     meta   `yaml:"metadata"`
		AutomountServiceAccountToken *bool  `yaml:"automountServiceAccountToken"`
	}
	kustomization struct {
		Kind               string   `yaml:"kind"`
		Resources          []string `yaml:"resources"`
		ConfigMapGenerator []struct {
			Name  string   `yaml:"name"`
			Files []string `yaml:"files"`
		} `yaml:"configMapGenerator"`
	}
)

// decodeAll decodes every YAML document of a file into nodes.
func decodeAll(t *testing.T, file string) []*yaml.Node {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", file, len(docs)+1, err)
		}
		docs = append(docs, &n)
	}
	if len(docs) == 0 {
		t.Fatalf("%s holds no YAML document", file)
	}
	return docs
}

// load decodes the one document of a file into v.
func load(t *testing.T, file string, v any) {
	t.Helper()
	docs := decodeAll(t, file)
	if len(docs) != 1 {
		t.Fatalf("%s: want one document, got %d", file, len(docs))
	}
	if err := docs[0].Decode(v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func yamlFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func k8s(name string) string { return filepath.Join(k8sDir, name) }

func ptrIs[T comparable](p *T, want T) bool { return p != nil && *p == want }

// TestYAMLParses: every YAML file here, and the two app manifests, parse in
// every document; every Kubernetes manifest names its apiVersion and kind.
func TestYAMLParses(t *testing.T) {
	files := append(yamlFiles(t, "."), slackManifest, appManifest)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			for i, doc := range decodeAll(t, f) {
				if f == k8s("config.yaml") || f == slackManifest || f == appManifest {
					continue
				}
				var tm struct {
					APIVersion string `yaml:"apiVersion"`
					Kind       string `yaml:"kind"`
				}
				if err := doc.Decode(&tm); err != nil || tm.APIVersion == "" || tm.Kind == "" {
					t.Errorf("document %d lacks apiVersion or kind (%v)", i+1, err)
				}
			}
		})
	}
}

// TestKustomizationListsEveryManifest: kustomization.yaml lists every file
// in the directory, and each file it lists exists.
func TestKustomizationListsEveryManifest(t *testing.T) {
	var k kustomization
	load(t, k8s("kustomization.yaml"), &k)
	listed := slices.Clone(k.Resources)
	for _, g := range k.ConfigMapGenerator {
		for _, f := range g.Files {
			if _, file, ok := strings.Cut(f, "="); ok {
				f = file
			}
			listed = append(listed, f)
		}
	}
	var present []string
	for _, f := range yamlFiles(t, k8sDir) {
		if rel, _ := filepath.Rel(k8sDir, f); rel != "kustomization.yaml" {
			present = append(present, filepath.ToSlash(rel))
		}
	}
	slices.Sort(listed)
	slices.Sort(present)
	if diff := cmp.Diff(present, listed); diff != "" {
		t.Errorf("kustomization.yaml lists other files than the directory holds (-present +listed):\n%s", diff)
	}
}

// TestConfigLoads: the config shipped in the ConfigMap passes the bot's own
// strict loading and validation.
func TestConfigLoads(t *testing.T) {
	if _, err := config.Load(k8s("config.yaml")); err != nil {
		t.Error(err)
	}
}

func loadDeployment(t *testing.T) (deployment, container) {
	t.Helper()
	var d deployment
	load(t, k8s("deployment.yaml"), &d)
	if d.Kind != "Deployment" || len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("deployment.yaml: want a Deployment with one container, got a %s with %d", d.Kind, len(d.Spec.Template.Spec.Containers))
	}
	return d, d.Spec.Template.Spec.Containers[0]
}

// portNumber resolves a probe's or a Service's port (a number or the name of
// a container port) to a number.
func portNumber(t *testing.T, c container, n yaml.Node) int {
	t.Helper()
	if p, err := strconv.Atoi(n.Value); err == nil {
		return p
	}
	for _, p := range c.Ports {
		if p.Name == n.Value {
			return p.ContainerPort
		}
	}
	t.Errorf("port %q is neither a number nor a container port's name", n.Value)
	return 0
}

func TestDeployment(t *testing.T) {
	d, c := loadDeployment(t)
	pod := d.Spec.Template.Spec

	if d.Spec.Replicas < 2 {
		t.Errorf("replicas = %d, want 2 or more: the replicas share the work through Redis", d.Spec.Replicas)
	}
	if !labelsMatch(d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels) {
		t.Errorf("the selector %v does not match the pod's labels %v", d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels)
	}

	t.Run("security", func(t *testing.T) {
		ps := pod.SecurityContext
		if !ptrIs(ps.RunAsNonRoot, true) || !ptrIs(ps.RunAsUser, nonrootUID) || ps.SeccompProfile.Type != "RuntimeDefault" {
			t.Errorf("pod securityContext = %+v, want runAsNonRoot, runAsUser %d and seccomp RuntimeDefault", ps, nonrootUID)
		}
		cs := c.SecurityContext
		checks := []struct {
			name string
			ok   bool
		}{
			{"runAsNonRoot: true", ptrIs(cs.RunAsNonRoot, true)},
			{"runAsUser: 65532", ptrIs(cs.RunAsUser, nonrootUID)},
			{"readOnlyRootFilesystem: true", ptrIs(cs.ReadOnlyRootFilesystem, true)},
			{"allowPrivilegeEscalation: false", ptrIs(cs.AllowPrivilegeEscalation, false)},
			{"privileged unset or false", cs.Privileged == nil || !*cs.Privileged},
			{"capabilities drop [ALL], add none", slices.Equal(cs.Capabilities.Drop, []string{"ALL"}) && len(cs.Capabilities.Add) == 0},
			{"seccompProfile RuntimeDefault", cs.SeccompProfile.Type == "RuntimeDefault"},
		}
		for _, ch := range checks {
			if !ch.ok {
				t.Errorf("container securityContext: want %s", ch.name)
			}
		}
		if !ptrIs(pod.AutomountServiceAccountToken, false) {
			t.Error("automountServiceAccountToken: want false on the pod: the bot calls no Kubernetes API")
		}
		var sa serviceAccount
		load(t, k8s("serviceaccount.yaml"), &sa)
		if sa.Kind != "ServiceAccount" || sa.Metadata.Name != pod.ServiceAccountName || !ptrIs(sa.AutomountServiceAccountToken, false) {
			t.Errorf("serviceaccount.yaml: want the ServiceAccount %q with automountServiceAccountToken false, got %s %q", pod.ServiceAccountName, sa.Kind, sa.Metadata.Name)
		}
	})

	t.Run("probes", func(t *testing.T) {
		for _, p := range []struct {
			name, path string
			probe      probe
		}{
			{"readinessProbe", "/readyz", c.ReadinessProbe},
			{"livenessProbe", "/healthz", c.LivenessProbe},
		} {
			if p.probe.HTTPGet == nil {
				t.Errorf("%s: want an httpGet of %s", p.name, p.path)
				continue
			}
			if p.probe.HTTPGet.Path != p.path || portNumber(t, c, p.probe.HTTPGet.Port) != port {
				t.Errorf("%s: GET %s on %s, want %s on %d", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.Value, p.path, port)
			}
		}
		if !slices.ContainsFunc(c.Ports, func(p struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		}) bool {
			return p.ContainerPort == port
		}) {
			t.Errorf("the container does not declare port %d", port)
		}
	})

	t.Run("drain", func(t *testing.T) {
		need := drainSeconds + c.Lifecycle.PreStop.Sleep.Seconds + 5
		if pod.TerminationGracePeriodSeconds < need {
			t.Errorf("terminationGracePeriodSeconds = %d, want at least %d: a %d s preStop, the bot's %d s drain and a margin",
				pod.TerminationGracePeriodSeconds, need, c.Lifecycle.PreStop.Sleep.Seconds, drainSeconds)
		}
	})

	t.Run("spread", func(t *testing.T) {
		spread := slices.ContainsFunc(pod.TopologySpreadConstraints, func(s struct {
			TopologyKey       string   `yaml:"topologyKey"`
			WhenUnsatisfiable string   `yaml:"whenUnsatisfiable"`
			LabelSelector     selector `yaml:"labelSelector"`
		}) bool {
			return s.TopologyKey == "kubernetes.io/hostname" && labelsMatch(s.LabelSelector.MatchLabels, d.Spec.Template.Metadata.Labels)
		})
		if !spread && len(pod.Affinity.PodAntiAffinity) == 0 {
			t.Error("want a topology spread over kubernetes.io/hostname selecting the pods, or a pod anti-affinity")
		}
	})

	t.Run("resources", func(t *testing.T) {
		r := c.Resources
		if r.Requests["cpu"] == "" || r.Requests["memory"] == "" || r.Limits["memory"] == "" {
			t.Errorf("resources = %+v, want cpu and memory requests and a memory limit", r)
		}
	})

	t.Run("config", func(t *testing.T) {
		if !slices.Equal(c.Args, []string{"serve", "--config", configPath}) {
			t.Errorf("args = %q, want serve --config %s", c.Args, configPath)
		}
		var k kustomization
		load(t, k8s("kustomization.yaml"), &k)
		var generated []string
		for _, g := range k.ConfigMapGenerator {
			generated = append(generated, g.Name)
		}
		dir, file := path.Split(configPath)
		v := mountedAt(c, pod.Volumes, strings.TrimSuffix(dir, "/"))
		switch {
		case v == nil || v.ConfigMap == nil:
			t.Errorf("no ConfigMap is mounted at %s", dir)
		case !slices.Contains(generated, v.ConfigMap.Name):
			t.Errorf("the ConfigMap %q is not one kustomization.yaml generates (%q)", v.ConfigMap.Name, generated)
		case len(v.ConfigMap.Items) > 0 && !slices.Contains(v.ConfigMap.Items, keyToPath{Key: "config.yaml", Path: file}):
			t.Errorf("the ConfigMap's items %+v do not put config.yaml at %s", v.ConfigMap.Items, configPath)
		}
	})

	t.Run("secrets", func(t *testing.T) {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name != secretName {
				t.Errorf("%s comes from the Secret %q, want %q", e.Name, e.ValueFrom.SecretKeyRef.Name, secretName)
			}
			if strings.HasPrefix(e.Name, "MIGRATEBOT_") && e.ValueFrom == nil && !strings.HasSuffix(e.Name, "_FILE") {
				t.Errorf("%s has a literal value: secrets come from the Secret %q", e.Name, secretName)
			}
			if !strings.HasSuffix(e.Name, "_FILE") {
				continue
			}
			dir, file := path.Split(e.Value)
			v := mountedAt(c, pod.Volumes, strings.TrimSuffix(dir, "/"))
			switch {
			case v == nil || v.Secret == nil:
				t.Errorf("%s=%s: no Secret is mounted at %s", e.Name, e.Value, dir)
			case v.Secret.SecretName != secretName:
				t.Errorf("%s=%s: the Secret mounted there is %q, want %q", e.Name, e.Value, v.Secret.SecretName, secretName)
			case len(v.Secret.Items) > 0 && !slices.ContainsFunc(v.Secret.Items, func(i keyToPath) bool { return i.Path == file }):
				t.Errorf("%s=%s: the Secret's items do not put a file %s there", e.Name, e.Value, file)
			}
		}
		var redis bool
		for _, e := range c.Env {
			redis = redis || (e.Name == "REDIS_URL" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil)
		}
		if !redis {
			t.Error("REDIS_URL: want it from the Secret (secretKeyRef): its URL may carry a password")
		}
	})
}

// mountedAt returns the volume the container mounts at dir.
func mountedAt(c container, volumes []volume, dir string) *volume {
	for _, m := range c.VolumeMounts {
		if path.Clean(m.MountPath) != path.Clean(dir) {
			continue
		}
		for i := range volumes {
			if volumes[i].Name == m.Name {
				return &volumes[i]
			}
		}
	}
	return nil
}

// labelsMatch reports whether a non-empty selector selects labels.
func labelsMatch(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return len(sel) > 0
}

// TestEnvVarsAreReadByTheBot: each MIGRATEBOT_ variable the Deployment sets
// is one config/secrets.go reads (or its _FILE form), and each secret that
// LoadSecrets requires is set.
func TestEnvVarsAreReadByTheBot(t *testing.T) {
	src, err := os.ReadFile(secretsGo)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, name := range regexp.MustCompile(`MIGRATEBOT_[A-Z_]+`).FindAllString(string(src), -1) {
		known[name] = true
	}
	if len(known) == 0 {
		t.Fatalf("found no MIGRATEBOT_ variable in %s", secretsGo)
	}
	// Read by the bot as it grows (Socket Mode, Prometheus): optional here.
	known["MIGRATEBOT_SLACK_APP_TOKEN"] = true
	known["MIGRATEBOT_PROMETHEUS_TOKEN"] = true

	_, c := loadDeployment(t)
	set := map[string]bool{}
	for _, e := range c.Env {
		name := e.Name
		if !strings.HasPrefix(name, "MIGRATEBOT_") {
			continue
		}
		if set[name] {
			t.Errorf("%s is set twice", name)
		}
		set[name] = true
		if !known[name] && !known[strings.TrimSuffix(name, "_FILE")] {
			t.Errorf("the Deployment sets %s, which the bot does not read (%s)", name, secretsGo)
		}
	}

	// The secrets LoadSecrets cannot start without: read(EnvX), with EnvX =
	// "MIGRATEBOT_…" among the constants.
	consts := map[string]string{}
	for _, m := range regexp.MustCompile(`(Env\w+)\s*=\s*"(MIGRATEBOT_[A-Z_]+)"`).FindAllStringSubmatch(string(src), -1) {
		consts[m[1]] = m[2]
	}
	required := regexp.MustCompile(`\bread\((Env\w+)\)`).FindAllStringSubmatch(string(src), -1)
	if len(required) == 0 {
		t.Fatalf("found no required secret (read(EnvX)) in %s: has LoadSecrets changed shape? Update this test", secretsGo)
	}
	for _, m := range required {
		name, ok := consts[m[1]]
		if !ok {
			t.Errorf("%s: no MIGRATEBOT_ constant named %s", secretsGo, m[1])
			continue
		}
		if !set[name] && !set[name+"_FILE"] {
			t.Errorf("the bot needs %s (or %s_FILE), which the Deployment does not set", name, name)
		}
	}
}

// TestServiceExposesMetrics: the Service selects the pods, has a port named
// metrics on the bot's port, and asks Prometheus to scrape /metrics there.
func TestServiceExposesMetrics(t *testing.T) {
	d, c := loadDeployment(t)
	var s service
	load(t, k8s("service.yaml"), &s)
	if s.Kind != "Service" || !labelsMatch(s.Spec.Selector, d.Spec.Template.Metadata.Labels) {
		t.Errorf("service.yaml: want a Service selecting the pods %v, got a %s selecting %v", d.Spec.Template.Metadata.Labels, s.Kind, s.Spec.Selector)
	}
	var metrics bool
	for _, p := range s.Spec.Ports {
		target := p.TargetPort
		if target.Value == "" {
			target.Value = strconv.Itoa(p.Port)
		}
		n := portNumber(t, c, target)
		if n != port {
			t.Errorf("Service port %q targets %d; the bot listens on %d only", p.Name, n, port)
		}
		metrics = metrics || p.Name == "metrics"
	}
	if !metrics {
		t.Error("the Service has no port named metrics")
	}
	want := map[string]string{
		"prometheus.io/scrape": "true",
		"prometheus.io/path":   "/metrics",
		"prometheus.io/port":   strconv.Itoa(port),
	}
	for k, v := range want {
		if got := s.Metadata.Annotations[k]; got != v {
			t.Errorf("annotation %s = %q, want %q", k, got, v)
		}
	}

	var b pdb
	load(t, k8s("pdb.yaml"), &b)
	if b.Kind != "PodDisruptionBudget" || !labelsMatch(b.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels) ||
		(b.Spec.MinAvailable == nil) == (b.Spec.MaxUnavailable == nil) {
		t.Errorf("pdb.yaml: want a PodDisruptionBudget selecting the pods, with one of minAvailable and maxUnavailable: %+v", b)
	}
}

// TestPathsAreServed: the paths the manifests name are routes of the bot.
func TestPathsAreServed(t *testing.T) {
	routes, err := os.ReadFile(routesGo)
	if err != nil {
		t.Fatal(err)
	}
	for _, route := range []string{
		"POST /slack/commands", "POST /slack/interactions", "POST /github/webhooks",
		"GET /healthz", "GET /readyz", "GET /metrics",
	} {
		if !bytes.Contains(routes, []byte(`"`+route+`"`)) {
			t.Errorf("%s does not route %s, which the manifests name", routesGo, route)
		}
	}
}

// TestSlackManifest: the scopes are exactly what the bot uses, and the
// slash command and interactivity reach the bot's routes.
func TestSlackManifest(t *testing.T) {
	var m struct {
		DisplayInformation struct {
			Name string `yaml:"name"`
		} `yaml:"display_information"`
		Features struct {
			SlashCommands []struct {
				Command     string `yaml:"command"`
				URL         string `yaml:"url"`
				Description string `yaml:"description"`
				UsageHint   string `yaml:"usage_hint"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
		OAuthConfig struct {
			Scopes struct {
				Bot  []string `yaml:"bot"`
				User []string `yaml:"user"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Interactivity struct {
				IsEnabled  bool   `yaml:"is_enabled"`
				RequestURL string `yaml:"request_url"`
			} `yaml:"interactivity"`
			SocketModeEnabled *bool `yaml:"socket_mode_enabled"`
		} `yaml:"settings"`
	}
	load(t, slackManifest, &m)
	if m.DisplayInformation.Name != "migratebot" {
		t.Errorf("display name %q, want migratebot", m.DisplayInformation.Name)
	}
	scopes := slices.Sorted(slices.Values(m.OAuthConfig.Scopes.Bot))
	if diff := cmp.Diff([]string{"channels:history", "chat:write", "commands", "groups:history", "usergroups:read", "users:read"}, scopes); diff != "" {
		t.Errorf("bot scopes (-want +got):\n%s", diff)
	}
	if len(m.OAuthConfig.Scopes.User) > 0 {
		t.Errorf("user scopes %q: the bot acts as itself only", m.OAuthConfig.Scopes.User)
	}
	if cmds := m.Features.SlashCommands; len(cmds) != 1 || cmds[0].Command != "/migrate" ||
		!strings.HasSuffix(cmds[0].URL, "/slack/commands") || cmds[0].Description == "" || cmds[0].UsageHint == "" {
		t.Errorf("slash commands %+v, want /migrate alone, with a description, a usage hint and the URL …/slack/commands", cmds)
	}
	if i := m.Settings.Interactivity; !i.IsEnabled || !strings.HasSuffix(i.RequestURL, "/slack/interactions") {
		t.Errorf("interactivity %+v, want it on, at …/slack/interactions", i)
	}
	if !ptrIs(m.Settings.SocketModeEnabled, false) {
		t.Error("socket_mode_enabled: want false, with the URLs (setup --socket prints the Socket Mode manifest)")
	}
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
}

func parseDockerfile(t *testing.T) [][]instruction {
	t.Helper()
	data, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var all []instruction
	var cur strings.Builder
	for line := range strings.Lines(string(data)) {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue // comments and parser directives, also inside continuations
		}
		if more, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(more + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		all = append(all, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatalf("%s ends inside a continued line", dockerfile)
	}
	var stages [][]instruction
	for _, in := range all {
		switch {
		case in.cmd == "FROM":
			stages = append(stages, []instruction{in})
		case len(stages) == 0:
			if in.cmd != "ARG" {
				t.Fatalf("%s: %s before the first FROM", dockerfile, in.cmd)
			}
		default:
			stages[len(stages)-1] = append(stages[len(stages)-1], in)
		}
	}
	return stages
}

// fromImage is the image of a FROM instruction, flags and AS name dropped.
func fromImage(args string) string {
	for f := range strings.FieldsSeq(args) {
		if !strings.HasPrefix(f, "--") {
			return f
		}
	}
	return ""
}

// TestDockerfile: a build stage compiling a static binary, and a final stage
// that is distroless static, runs as a numeric non-root user, runs nothing
// at build time and starts the binary.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("%d FROM stages, want a build stage and a run stage", len(stages))
	}
	final := stages[len(stages)-1]
	if img := fromImage(final[0].args); !strings.HasPrefix(img, "gcr.io/distroless/static") {
		t.Errorf("the final stage is FROM %s, want gcr.io/distroless/static…", img)
	}

	var static bool
	for _, stage := range stages[:len(stages)-1] {
		for _, in := range stage {
			if (in.cmd == "RUN" && strings.Contains(in.args, "go build") && strings.Contains(in.args, "CGO_ENABLED=0")) ||
				(in.cmd == "ENV" && strings.Contains(in.args, "CGO_ENABLED=0")) {
				static = true
			}
		}
	}
	if !static {
		t.Error("no build stage runs go build with CGO_ENABLED=0: the binary must be static for distroless static")
	}

	var user, binary, expose string
	var entrypoint, cmd []string
	for _, in := range final[1:] {
		switch in.cmd {
		case "RUN":
			t.Errorf("RUN %s in the final stage: it has no shell, and runs nothing", in.args)
		case "USER":
			user = in.args
		case "COPY":
			if f := strings.Fields(in.args); len(f) >= 2 && strings.HasPrefix(f[0], "--from=") {
				binary = f[len(f)-1]
			}
		case "EXPOSE":
			expose = in.args
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(in.args), &entrypoint); err != nil {
				t.Errorf("ENTRYPOINT %s: want the exec form (a JSON array): %v", in.args, err)
			}
		case "CMD":
			if err := json.Unmarshal([]byte(in.args), &cmd); err != nil {
				t.Errorf("CMD %s: want the exec form (a JSON array): %v", in.args, err)
			}
		}
		if strings.Contains(in.args, "apt-get") || strings.Contains(in.args, "apk ") {
			t.Errorf("%s %s: the final stage installs no package", in.cmd, in.args)
		}
	}

	uid, gid, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("USER %q: want a numeric non-root uid, so that runAsNonRoot can check it", user)
	}
	if gid != "" {
		if _, err := strconv.Atoi(gid); err != nil {
			t.Errorf("USER %q: want a numeric group", user)
		}
	}
	if expose != strconv.Itoa(port) {
		t.Errorf("EXPOSE %q, want %d", expose, port)
	}
	if binary == "" || len(entrypoint) != 1 || entrypoint[0] != binary {
		t.Errorf("ENTRYPOINT %q, want the binary copied from the build stage (%q) alone", entrypoint, binary)
	}
	if want := []string{"serve", "--config", configPath}; !slices.Equal(cmd, want) {
		t.Errorf("CMD %q, want %q, where the Deployment mounts the config", cmd, want)
	}
}

// TestKustomizeBuild renders the directory with kubectl's kustomize, when
// kubectl is installed: the generated ConfigMap holds config.yaml and the
// Deployment mounts it by its hashed name.
func TestKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed")
	}
	out, err := exec.Command(kubectl, "kustomize", k8sDir).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("kubectl kustomize: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("kubectl kustomize: %v", err)
	}
	rendered := filepath.Join(t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(rendered, out, 0o644); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{} // kind → name
	var configMap string
	var mounted []string
	for _, doc := range decodeAll(t, rendered) {
		var obj struct {
			Kind     string            `yaml:"kind"`
			Metadata meta              `yaml:"metadata"`
			Data     map[string]string `yaml:"data"`
		}
		if err := doc.Decode(&obj); err != nil {
			t.Fatal(err)
		}
		kinds[obj.Kind] = obj.Metadata.Name
		switch obj.Kind {
		case "ConfigMap":
			configMap = obj.Metadata.Name
			if _, err := config.Parse([]byte(obj.Data["config.yaml"])); err != nil {
				t.Errorf("the ConfigMap's config.yaml: %v", err)
			}
		case "Deployment":
			var d deployment
			if err := doc.Decode(&d); err != nil {
				t.Fatal(err)
			}
			for _, v := range d.Spec.Template.Spec.Volumes {
				if v.ConfigMap != nil {
					mounted = append(mounted, v.ConfigMap.Name)
				}
			}
		}
	}
	for _, kind := range []string{"Deployment", "Service", "PodDisruptionBudget", "ServiceAccount", "ConfigMap"} {
		if _, ok := kinds[kind]; !ok {
			t.Errorf("the kustomization renders no %s", kind)
		}
	}
	if !slices.Equal(mounted, []string{configMap}) {
		t.Errorf("the Deployment mounts the ConfigMaps %q, want the generated %q", mounted, configMap)
	}
}
