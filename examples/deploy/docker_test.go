package deploy

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// An instruction is one Dockerfile instruction: its keyword, upper-cased,
// and the rest of its (joined) line.
type instruction struct {
	cmd, args string
	line      int
}

// A stage is the instructions from one FROM to the next.
type stage struct {
	from, name string // the image after ARG substitution, and AS name
	ins        []instruction
}

func (s *stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func (s *stage) last(cmd string) (instruction, bool) {
	all := s.all(cmd)
	if len(all) == 0 {
		return instruction{}, false
	}
	return all[len(all)-1], true
}

// readDockerfile parses the Dockerfile's lines: comments and parser
// directives dropped, backslash continuations joined, the ARGs before the
// first FROM substituted into the FROM lines.
func readDockerfile(t *testing.T, path string) (stages []*stage) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	globals := map[string]string{}
	var cont strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cont.Len() == 0) {
			continue
		}
		if cont.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, `\`) {
			cont.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cont.WriteString(line)
		full := cont.String()
		cont.Reset()
		cmd, args, _ := strings.Cut(full, " ")
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args), start}
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(os.Expand(in.args, func(k string) string { return globals[k] }))
			st := &stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
		case len(stages) == 0 && in.cmd == "ARG":
			k, v, _ := strings.Cut(in.args, "=")
			globals[k] = strings.Trim(v, `"`)
		case len(stages) == 0:
			t.Fatalf("%s:%d: %s before the first FROM", path, start, in.cmd)
		default:
			stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(stages) == 0 {
		t.Fatalf("%s: no FROM", path)
	}
	return stages
}

// execForm decodes an instruction in exec form (a JSON array), as CMD and
// ENTRYPOINT must be here: in shell form /bin/sh would be PID 1 and
// SIGTERM would not reach gowsgi.
func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	var words []string
	if err := json.Unmarshal([]byte(in.args), &words); err != nil {
		t.Fatalf("Dockerfile:%d: %s %s: want the exec form, a JSON array: %v", in.line, in.cmd, in.args, err)
	}
	return words
}

// envOf returns the ENV settings of a stage (KEY=VALUE forms).
func envOf(t *testing.T, s *stage) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, in := range s.all("ENV") {
		for _, kv := range strings.Fields(in.args) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("Dockerfile:%d: ENV %s: want KEY=VALUE", in.line, in.args)
			}
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env
}

// containerCommand is the final stage's command: ENTRYPOINT then CMD.
func containerCommand(t *testing.T, final *stage) (entrypoint, cmd []string) {
	t.Helper()
	if in, ok := final.last("ENTRYPOINT"); ok {
		entrypoint = execForm(t, in)
	}
	in, ok := final.last("CMD")
	if !ok {
		t.Fatal("Dockerfile: the final stage has no CMD")
	}
	cmd = execForm(t, in)
	return entrypoint, cmd
}

// dockerArgs returns gowsgi's arguments in the image's command.
func dockerArgs(t *testing.T, final *stage) []string {
	t.Helper()
	entrypoint, cmd := containerCommand(t, final)
	words := append(entrypoint, cmd...)
	if len(words) < 2 || filepath.Base(words[0]) != "gowsgi" {
		t.Fatalf("Dockerfile: the command %q does not run gowsgi", words)
	}
	return words[1:]
}

// TestDockerfile checks the container recipe without Docker (there is
// none here): the stages are Debian 12, the binary is built as
// scripts/buildtags.sh says, the final stage runs gowsgi as a user of its
// own and stops it with SIGTERM, the ports it exposes are the ones it
// binds, and the command's flags are valid gowsgi flags.
func TestDockerfile(t *testing.T) {
	stages := readDockerfile(t, "Dockerfile")
	names := map[string]bool{}
	for _, s := range stages {
		image, tag, _ := strings.Cut(s.from, ":")
		if !names[s.from] && !strings.Contains(tag, "bookworm") {
			t.Errorf("FROM %s: not a Debian 12 (bookworm) image", s.from)
		}
		if s.from == "scratch" || image == "" {
			t.Errorf("FROM %q", s.from)
		}
		if s.name != "" {
			names[s.name] = true
		}
	}
	build, final := stages[0], stages[len(stages)-1]
	if len(stages) < 2 {
		t.Fatalf("want a build stage and a runtime stage, got %d stage(s)", len(stages))
	}
	if final.from != "debian:bookworm-slim" {
		t.Errorf("the runtime stage is FROM %s, want debian:bookworm-slim", final.from)
	}

	runs := func(s *stage) string {
		var b strings.Builder
		for _, in := range s.all("RUN") {
			b.WriteString(in.args + "\n")
		}
		return b.String()
	}
	for _, tc := range []struct {
		stage *stage
		what  string
		re    string
	}{
		{build, "installs python3-dev and pkg-config", `apt-get install[^\n]*\bpython3-dev\b[^\n]*\bpkg-config\b`},
		{build, "takes its build tags from scripts/buildtags.sh", `(source|\.) scripts/buildtags\.sh[^\n]*go build "\$\{gowsgi_tags\[@\]\}"[^\n]*\./cmd/gowsgi`},
		{final, "installs python3 (the standard library)", `apt-get install[^\n]*\bpython3\b`},
		{final, "installs libpython3.11 (a build without pystatic links it)", `apt-get install[^\n]*\blibpython3\.11\b`},
		{final, "creates the user it runs as", `useradd [^\n]*--uid 10001\b`},
	} {
		if !regexp.MustCompile(tc.re).MatchString(runs(tc.stage)) {
			t.Errorf("the stage FROM %s: want a RUN that %s (/%s/)", tc.stage.from, tc.what, tc.re)
		}
	}
	// bash: buildtags.sh fills an array.
	if sh, ok := build.last("SHELL"); !ok || !strings.Contains(sh.args, "bash") {
		t.Errorf("the build stage sources scripts/buildtags.sh, a bash script, without SHELL [\"/bin/bash\", ...]")
	}

	user, ok := final.last("USER")
	if !ok {
		t.Fatal("the final stage has no USER: it would run as root")
	}
	if u, _, _ := strings.Cut(user.args, ":"); u == "root" || u == "0" {
		t.Errorf("USER %s: root", user.args)
	}
	if s, _ := final.last("STOPSIGNAL"); s.args != "SIGTERM" {
		t.Errorf("STOPSIGNAL %q, want SIGTERM", s.args)
	}
	// Every file the COPYs from the context name exists, relative to the
	// repository root, the build context.
	for _, s := range stages {
		for _, in := range s.all("COPY") {
			f := strings.Fields(in.args)
			if strings.HasPrefix(f[0], "--from=") {
				continue
			}
			for _, src := range f[:len(f)-1] {
				if strings.HasPrefix(src, "--") {
					continue
				}
				if _, err := os.Stat(filepath.Join("../..", src)); err != nil {
					t.Errorf("Dockerfile:%d: COPY %s: not in the build context (the repository root): %v", in.line, src, err)
				}
			}
		}
	}

	args := dockerArgs(t, final)
	env := envOf(t, final)
	var envList []string
	for k, v := range env {
		envList = append(envList, k+"="+v)
	}
	cfg := printConfig(t, envList, args...)
	for _, tc := range []struct{ setting, want string }{
		{"bind", "[0.0.0.0:8000]"},
		{"metrics-bind", ":9100"},
		{"access-logfile", "-"},
		{"workers", env["WEB_CONCURRENCY"]}, // the default --workers
	} {
		if cfg[tc.setting] != tc.want {
			t.Errorf("the image's command %q: %s = %q, want %q", args, tc.setting, cfg[tc.setting], tc.want)
		}
	}
	if _, ok := flagValue(args, "workers"); ok {
		t.Errorf("the image's command sets --workers: $WEB_CONCURRENCY would not change it")
	}
	exposed := map[string]bool{}
	for _, in := range final.all("EXPOSE") {
		for _, p := range strings.Fields(in.args) {
			exposed[strings.TrimSuffix(p, "/tcp")] = true
		}
	}
	for _, flag := range []string{"bind", "metrics-bind"} {
		v, _ := flagValue(args, flag)
		if p := port(v); !exposed[p] {
			t.Errorf("--%s %s: port %s is not EXPOSEd (%v)", flag, v, p, exposed)
		}
	}
	if hc, ok := final.last("HEALTHCHECK"); ok && hc.args != "NONE" {
		appPort := port(mustFlag(t, args, "bind"))
		if !strings.Contains(hc.args, ":"+appPort+"/") {
			t.Errorf("HEALTHCHECK %s: not on the app's port %s", hc.args, appPort)
		}
	}
}

// TestDockerCommand runs the image's command as the container would, on
// this machine: the app directory and the ports moved to this machine's,
// the ENV of the image set. The app must load (--check-config) and serve,
// and the HEALTHCHECK's own command must pass against it.
func TestDockerCommand(t *testing.T) {
	final := readDockerfile(t, "Dockerfile")
	st := final[len(final)-1]
	args := dockerArgs(t, st)
	env := envOf(t, st)
	var envList []string
	for k, v := range env {
		envList = append(envList, k+"="+v)
	}
	args = setFlag(t, args, "chdir", appDir)

	check := exec.Command(gowsgi, append([]string{"--check-config"}, args...)...)
	check.Env = append(os.Environ(), envList...)
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("gowsgi --check-config %q: %v\n%s", args, err, out)
	}

	addr, metrics := freeAddr(t), freeAddr(t)
	args = setFlag(t, setFlag(t, args, "bind", addr), "metrics-bind", metrics)
	out := startGowsgi(t, envList, args)
	waitFor(t, out, "msg=listening", 60*time.Second)
	if status, body := get(t, http.DefaultClient, "http://"+addr+"/healthz"); status != 200 || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q", status, body)
	}
	// The access log goes to stdout (-): docker logs shows it.
	waitFor(t, out, `"GET /healthz HTTP/1.1" 200`, 10*time.Second)

	hc, ok := st.last("HEALTHCHECK")
	if !ok || hc.args == "NONE" {
		return
	}
	_, cmdPart, found := strings.Cut(hc.args, "CMD ")
	if !found {
		t.Fatalf("HEALTHCHECK %s: no CMD", hc.args)
	}
	probe := execForm(t, instruction{"HEALTHCHECK", cmdPart, hc.line})
	appPort := port(mustFlag(t, dockerArgs(t, st), "bind"))
	for i := range probe {
		probe[i] = strings.ReplaceAll(probe[i], "127.0.0.1:"+appPort, addr)
	}
	// The image's python3 is Debian's; /usr/bin/python3 is the same here.
	if probe[0] == "python3" {
		if _, err := os.Stat("/usr/bin/python3"); err == nil {
			probe[0] = "/usr/bin/python3"
		}
	}
	if b, err := exec.Command(probe[0], probe[1:]...).CombinedOutput(); err != nil {
		t.Errorf("the HEALTHCHECK command %q fails against the running server: %v\n%s", probe, err, b)
	}
}

// port returns the port of a HOST:PORT or :PORT address.
func port(addr string) string {
	return addr[strings.LastIndex(addr, ":")+1:]
}

// mustFlag returns the value of --name in args, failing the test if
// there is none.
func mustFlag(t *testing.T, args []string, name string) string {
	t.Helper()
	v, ok := flagValue(args, name)
	if !ok {
		t.Fatalf("no --%s in %q", name, args)
	}
	return v
}

// TestDockerBuildCommand runs the build stage's gowsgi build, the RUN
// line that sources scripts/buildtags.sh, here with bash as the stage's
// SHELL says, from the repository root (the stage's WORKDIR holds the
// whole context). Where Debian's libpython3.11.a is installed, as
// python3-dev installs it in the image, that is the -tags pystatic build.
func TestDockerBuildCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skips a build of gowsgi")
	}
	stages := readDockerfile(t, "Dockerfile")
	var line string
	for _, in := range stages[0].all("RUN") {
		if strings.Contains(in.args, "scripts/buildtags.sh") {
			line = in.args
		}
	}
	if line == "" {
		t.Fatal("the build stage has no RUN that sources scripts/buildtags.sh")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	out := t.TempDir()
	line = strings.ReplaceAll(line, "/out/", out+"/")
	if !strings.Contains(line, out) {
		t.Fatalf("RUN %s: the binary is not built into /out/", line)
	}
	cmd := exec.Command(bash, "-o", "pipefail", "-c", line)
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("RUN %s: %v\n%s", line, err, b)
	}
	// The binary that build made loads the app.
	check := exec.Command(filepath.Join(out, "gowsgi"), "--check-config", "--chdir", appDir, "app:app")
	if b, err := check.CombinedOutput(); err != nil {
		t.Errorf("the built gowsgi --check-config: %v\n%s", err, b)
	}
	// Whether this machine made the static build, for the log.
	tags, err := func() *exec.Cmd {
		c := exec.Command(bash, "-c", "source scripts/buildtags.sh && echo \"${gowsgi_tags[@]}\"")
		c.Dir = "../.."
		return c
	}().Output()
	if err == nil {
		t.Logf("built with tags %q", strings.TrimSpace(string(tags)))
	}
}
