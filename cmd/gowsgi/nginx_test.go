package main

// gowsgi behind Debian's nginx, the deployment most Django and Flask sites
// use: nginx terminates TLS and proxies to gowsgi over a unix socket and
// over TCP, with upstream keep-alive, as a new user would configure it.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const nginxConf = `daemon off;
master_process on;
worker_processes 1;
{{user}}
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log info;
events { worker_connections 128; }
http {
	access_log off;
	client_body_temp_path {{dir}}/body;
	proxy_temp_path {{dir}}/proxy;
	fastcgi_temp_path {{dir}}/fastcgi;
	uwsgi_temp_path {{dir}}/uwsgi;
	scgi_temp_path {{dir}}/scgi;
	client_max_body_size 20m;
	upstream unix_app { server unix:{{sock}}; keepalive 8; }
	upstream tcp_app { server {{tcp}}; keepalive 8; }
	server {
		listen {{listen}} ssl;
		ssl_certificate {{dir}}/cert.pem;
		ssl_certificate_key {{dir}}/key.pem;
		proxy_http_version 1.1;
		proxy_set_header Connection "";
		proxy_set_header Host $host;
		proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
		proxy_set_header X-Forwarded-Proto $scheme;
		location /unix/ {
			proxy_pass http://unix_app/;
			proxy_buffering off;
			proxy_request_buffering off;
		}
		location /tcp/ {
			proxy_pass http://tcp_app/;
			proxy_buffering off;
		}
	}
}
`

// selfSigned writes a certificate and key for 127.0.0.1 into dir.
func selfSigned(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}

func TestCLIBehindNginx(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			t.Skip("nginx is not installed (scripts/install-deps.sh installs nginx-light)")
		}
		nginx = "/usr/sbin/nginx"
	}
	dir := shortTempDir(t)
	// As a real deployment: nginx's workers run as www-data, another user
	// than gowsgi's, and must be able to reach and connect to the socket.
	user := ""
	if os.Geteuid() == 0 {
		user = "user www-data;"
		os.Chmod(dir, 0o755)
	}
	sock := filepath.Join(dir, "app.sock")
	tcp := freePort(t)
	p := startGowsgi(t, nil, "--bind", "unix:"+sock, "--bind", tcp, "--chdir", appDir, "app:app")
	waitReady(t, p, unixClient(sock), "http://gowsgi/")

	selfSigned(t, dir)
	listen := freePort(t)
	conf := strings.NewReplacer("{{user}}", user, "{{dir}}", dir, "{{sock}}", sock, "{{tcp}}", tcp, "{{listen}}", listen).Replace(nginxConf)
	confPath := filepath.Join(dir, "nginx.conf")
	os.WriteFile(confPath, []byte(conf), 0o644)
	ng := exec.Command(nginx, "-c", confPath, "-p", dir)
	var ngOut bytes.Buffer
	ng.Stdout, ng.Stderr = &ngOut, &ngOut
	// Its own process group, so that the cleanup reaches the workers too.
	ng.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	ng.WaitDelay = 5 * time.Second
	if err := ng.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// SIGTERM is nginx's fast shutdown: the master stops its
		// workers and exits. The group kill after it is for a master
		// that died first and left them.
		ng.Process.Signal(syscall.SIGTERM)
		ng.Wait()
		syscall.Kill(-ng.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", ngOut.String(), log)
		}
	})

	// The client connects from 127.0.0.2: nginx forwards that address,
	// which gowsgi does not trust as a proxy (the default trusts
	// 127.0.0.1 and ::1, as gunicorn's).
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		DialContext:     (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext,
	}}
	base := "https://" + listen
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := c.Get(base + "/unix/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
			err = fmt.Errorf("%s", resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not proxy to gowsgi within 20 s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	for _, via := range []string{"unix", "tcp"} {
		t.Run(via, func(t *testing.T) {
			// The scheme and the client's address, as nginx says them.
			_, body := readAll(t, c, base+"/"+via+"/environ")
			var env struct {
				RemoteAddr string `json:"REMOTE_ADDR"`
				Scheme     string `json:"url_scheme"`
				Port       string `json:"SERVER_PORT"`
			}
			if err := json.Unmarshal([]byte(body), &env); err != nil {
				t.Fatalf("%q: %v", body, err)
			}
			if env.Scheme != "https" || env.RemoteAddr != "127.0.0.2" {
				t.Errorf("behind nginx over %s: wsgi.url_scheme %q, REMOTE_ADDR %q; want https and the client's 127.0.0.2",
					via, env.Scheme, env.RemoteAddr)
			}

			// A streamed response reaches the client block by block
			// (proxy_buffering off): the first arrives while the app
			// still waits to send the last.
			gate := filepath.Join(dir, via+".gate")
			resp, err := c.Get(base + "/" + via + "/gate?" + gate)
			if err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(resp.Body)
			if line, err := br.ReadString('\n'); line != "start\n" {
				t.Fatalf("first block: %q %v", line, err)
			}
			os.WriteFile(gate, nil, 0o644)
			if rest, err := io.ReadAll(br); string(rest) != "end\n" {
				t.Errorf("last block: %q %v", rest, err)
			}
			resp.Body.Close()

			// Uploads: 5 MB with a length, and chunked.
			blob := bytes.Repeat([]byte("0123456789abcdef"), 5<<16)
			want := sha256.Sum256(blob)
			for _, length := range []int64{int64(len(blob)), -1} {
				req, _ := http.NewRequestWithContext(context.Background(), "POST", base+"/"+via+"/echo", io.MultiReader(bytes.NewReader(blob)))
				req.ContentLength = length
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || err != nil || sha256.Sum256(got) != want {
					t.Errorf("upload of %d bytes (Content-Length %d): %s, %d bytes back, %v", len(blob), length, resp.Status, len(got), err)
				}
			}
		})
	}
}
