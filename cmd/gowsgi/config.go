package main

// --config: gunicorn's configuration file, a Python module whose names are
// settings (bind = "0.0.0.0:8000", workers = 4). It is run by the embedded
// interpreter in a child process (this executable again), so that nothing
// it imports or sets stays in the server's own Python.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gowsgi/wsgi/interp"
)

// readSettingsEnv names the settings file a child process is to read.
const readSettingsEnv = "GOWSGI_READ_SETTINGS"

// defaultConfig is read when it exists and no --config is given, as
// gunicorn does.
const defaultConfig = "./gunicorn.conf.py"

// settingsChild is the child's side: when this process was started to read
// a settings file, it prints them as JSON and reports true.
func settingsChild() bool {
	path := os.Getenv(readSettingsEnv)
	if path == "" {
		return false
	}
	os.Unsetenv(readSettingsEnv)
	if err := interp.Start(interp.Config{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := interp.ReadSettings(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
	os.Exit(0)
	return true
}

// configPath is the settings file to read: the last --config or -c among
// the arguments (the command line's before the variable's), else
// ./gunicorn.conf.py if it exists.
func configPath(layers ...[]string) string {
	for i := len(layers) - 1; i >= 0; i-- {
		args, found := layers[i], ""
		for j := 0; j < len(args); j++ {
			a := args[j]
			switch {
			case a == "--":
				j = len(args)
			case a == "-c" || a == "--config":
				if j+1 < len(args) {
					found = args[j+1]
					j++
				}
			case strings.HasPrefix(a, "--config="):
				found = strings.TrimPrefix(a, "--config=")
			case strings.HasPrefix(a, "-c") && !strings.HasPrefix(a, "--"):
				found = strings.TrimPrefix(strings.TrimPrefix(a, "-c"), "=")
			}
		}
		if found != "" {
			return found
		}
	}
	if _, err := os.Stat(defaultConfig); err == nil {
		return defaultConfig
	}
	return ""
}

// settingsFile is what a settings file holds (interp.ReadSettings).
type settingsFile struct {
	Settings map[string]any
	Skipped  []string
}

// readConfig runs the settings file at path in a child process.
func readConfig(path string) (*settingsFile, error) {
	if !strings.HasPrefix(path, "python:") {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("--config: %w", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), readSettingsEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("--config %s: %v\n%s", path, err, strings.TrimSpace(stderr.String()))
	}
	var sf settingsFile
	if err := json.Unmarshal(out, &sf); err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	return &sf, nil
}

// settingFlags maps gunicorn's setting names to the flags they are set
// by, where the flag is not the name with - for _.
var settingFlags = map[string]string{
	"keepalive":                "keep-alive",
	"pidfile":                  "pid",
	"raw_env":                  "env",
	"accesslog":                "access-logfile",
	"access_log_format":        "access-logformat",
	"errorlog":                 "error-logfile",
	"loglevel":                 "log-level",
	"preload_app":              "preload",
	"reload_extra_files":       "reload-extra-file",
	"limit_request_field_size": "limit-request-field_size",
	"proc_name":                "name",
	"logconfig":                "log-config",
	"logconfig_dict":           "log-config-dict",
	"logconfig_json":           "log-config-json",
	"syslog":                   "log-syslog",
	"syslog_addr":              "log-syslog-to",
	"syslog_prefix":            "log-syslog-prefix",
	"syslog_facility":          "log-syslog-facility",
	"proxy_allow_ips":          "proxy-allow-from",
	"raw_paste_global_conf":    "paste-global",
}

// applySettings sets the flags the settings name; it returns the app spec
// the file gives (wsgi_app), and warnings for the names it does not know.
func applySettings(fs *pflag.FlagSet, path string, sf *settingsFile) (spec string, warnings []string, err error) {
	names := make([]string, 0, len(sf.Settings))
	for name := range sf.Settings {
		names = append(names, name)
	}
	sort.Strings(names)
	var unknown []string
	for _, name := range names {
		v := sf.Settings[name]
		switch name {
		case "wsgi_app":
			if s, ok := v.(string); ok {
				spec = s
				continue
			}
			return "", nil, fmt.Errorf("%s: wsgi_app = %v: want a string like \"app:app\"", path, v)
		case "config":
			continue
		case "sendfile":
			if v == false {
				name = "no_sendfile"
				v = true
			}
		}
		flag := settingFlags[name]
		if flag == "" {
			flag = strings.ReplaceAll(name, "_", "-")
		}
		f := fs.Lookup(flag)
		if f == nil || flag == "help" {
			unknown = append(unknown, name)
			continue
		}
		if v == nil || (v == false && f.Hidden) {
			continue // None, or a switch of gunicorn's left off: nothing to set
		}
		if err := setFromSetting(fs, f, v); err != nil {
			return "", nil, fmt.Errorf("%s: %s = %s: %w", path, name, jsonText(v), err)
		}
	}
	if len(unknown) > 0 {
		warnings = append(warnings, fmt.Sprintf("%s: not gowsgi (or gunicorn) settings, ignored: %s", path, strings.Join(unknown, ", ")))
	}
	if len(sf.Skipped) > 0 {
		warnings = append(warnings, fmt.Sprintf("%s: server hooks and other objects are not used: %s", path, strings.Join(sf.Skipped, ", ")))
	}
	return spec, warnings, nil
}

// setFromSetting sets f from a setting's JSON value: a list sets a
// repeatable flag once an item, or joins with commas; a dict is
// NAME=VALUE pairs.
func setFromSetting(fs *pflag.FlagSet, f *pflag.Flag, v any) error {
	switch x := v.(type) {
	case []any:
		repeatable := f.Value.Type() == "stringArray"
		var items []string
		for _, it := range x {
			s, err := scalar(it)
			if err != nil {
				return err
			}
			if repeatable {
				if err := fs.Set(f.Name, s); err != nil {
					return err
				}
			}
			items = append(items, s)
		}
		if repeatable {
			return nil
		}
		return fs.Set(f.Name, strings.Join(items, ","))
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var pairs []string
		for _, k := range keys {
			s, err := scalar(x[k])
			if err != nil {
				return err
			}
			pairs = append(pairs, k+"="+s)
		}
		return fs.Set(f.Name, strings.Join(pairs, ","))
	}
	s, err := scalar(v)
	if err != nil {
		return err
	}
	return fs.Set(f.Name, s)
}

func scalar(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	}
	return "", errors.New("want a string, a number or a bool")
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
