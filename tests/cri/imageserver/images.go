package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path"
	"strings"
	"time"
)

// critest's registries: the e2e images and the pause under registry.k8s.io (and k8s.gcr.io), its own test images
// under gcr.io/k8s-staging-cri-tools.
const (
	e2e     = "e2e-test-images/"
	critest = "k8s-staging-cri-tools/"
)

// The files of the base image, as in busybox's: the users and groups critest's user tests name (www-data is 33 in
// Debian's and busybox's tables).
const (
	passwd = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\n" +
		"www-data:x:33:33:www-data:/var/www:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
	group = "root:x:0:\ndaemon:x:1:\nwww-data:x:33:\nusers:x:100:\nnogroup:x:65534:\n"
	path0 = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// file is one entry of a layer: a directory (dir), a hard link to link, or a regular file with data.
type file struct {
	name string
	mode int64
	dir  bool
	link string
	data []byte
}

// imageConfig is the part of an OCI image config that the images set.
type imageConfig struct {
	User       string   `json:"User,omitempty"`
	Env        []string `json:"Env,omitempty"`
	Entrypoint []string `json:"Entrypoint,omitempty"`
	Cmd        []string `json:"Cmd,omitempty"`
}

// registry is the served content: blobs and manifests by digest, and "repository:tag" -> manifest digest.
type registry struct {
	blobs     map[string][]byte
	manifests map[string][]byte
	tags      map[string]string
}

// buildImages makes every image critest pulls, except the one it pins by an upstream digest
// (test-image-digest@sha256:9700f9a2...), which no rebuild can reproduce.
func buildImages(busybox string, libs []string, self string) (*registry, error) {
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return nil, err
	}
	me, err := os.ReadFile(self)
	if err != nil {
		return nil, err
	}
	// Every applet is a hard link to the one busybox, so that a name found in PATH is what runs (critest masks
	// /bin/ls and expects sh to fail to exec it; its image volume test runs /<volume>/bin/ls, which a symlink to
	// /bin/busybox would resolve outside the volume). busybox is Debian's dynamic build, as its static one runs its
	// own applet for a name whatever PATH holds: libs are its shared libraries, copied to the same paths.
	out, err := exec.Command(busybox, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list-full: %w", busybox, err)
	}
	base := []file{}
	for _, d := range []string{"bin", "dev", "etc", "home", "lib", "lib/x86_64-linux-gnu", "lib64", "proc", "root",
		"sbin", "sys", "usr", "usr/bin", "usr/sbin", "usr/local", "usr/local/bin", "var", "var/run", "var/www"} {
		base = append(base, file{name: d, mode: 0o755, dir: true})
	}
	for _, lib := range libs {
		b, err := os.ReadFile(lib)
		if err != nil {
			return nil, err
		}
		base = append(base, file{name: strings.TrimPrefix(lib, "/"), mode: 0o755, data: b})
	}
	// Applets critest runs that Debian's busybox lacks: this binary stands in for them.
	base = append(base, file{name: "usr/bin/pgrep", mode: 0o755, data: me},
		file{name: "usr/bin/ipcs", mode: 0o755, link: "usr/bin/pgrep"})
	base = append(base, file{name: "tmp", mode: 0o1777, dir: true},
		file{name: "bin/busybox", mode: 0o755, data: bb},
		file{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		file{name: "etc/group", mode: 0o644, data: []byte(group)})
	seen := map[string]bool{"bin/busybox": true}
	for _, applet := range strings.Fields(string(out)) {
		if !seen[applet] {
			seen[applet] = true
			base = append(base, file{name: applet, mode: 0o755, link: "bin/busybox"})
		}
	}
	r := &registry{blobs: map[string][]byte{}, manifests: map[string][]byte{}, tags: map[string]string{}}
	baseLayer, err := r.layer(base)
	if err != nil {
		return nil, err
	}
	sh := imageConfig{Env: []string{path0}, Cmd: []string{"sh"}}
	type image struct {
		refs   []string
		files  []file // a second layer, on busybox's
		config imageConfig
		alone  bool // files are the whole image (the pause)
	}
	marker := func(name string) []file { return []file{{name: name, mode: 0o644, data: []byte(name + "\n")}} }
	user := func(u string) imageConfig { return imageConfig{User: u, Env: sh.Env, Cmd: sh.Cmd} }
	images := []image{
		{refs: []string{"pause:3.9"}, alone: true, files: []file{{name: "pause", mode: 0o755, data: me}},
			config: imageConfig{User: "65535:65535", Entrypoint: []string{"/pause"}}},
		// The sandbox image (containerd.toml.in) is another image: critest counts the tags of pause:3.9's.
		{refs: []string{"pause:3.10.1"}, alone: true, files: []file{{name: "pause", mode: 0o755, data: me}},
			config: imageConfig{User: "65535:65535", Env: []string{"SANDBOX=1"}, Entrypoint: []string{"/pause"}}},
		{refs: []string{e2e + "busybox:1.29-2"}, config: sh},
		{refs: []string{e2e + "nginx:1.14-2"}, files: []file{{name: "usr/sbin/nginx", mode: 0o755, data: me}},
			config: imageConfig{Env: sh.Env, Cmd: []string{"nginx"}}},
		{refs: []string{critest + "hostnet-nginx-amd64:latest"},
			files:  []file{{name: "usr/sbin/nginx", mode: 0o755, data: me}},
			config: imageConfig{Env: []string{path0, "PORT=12003"}, Cmd: []string{"nginx"}}},
		{refs: []string{e2e + "httpd:2.4.39-4"},
			files:  []file{{name: "usr/local/apache2", mode: 0o755, dir: true}, {name: "usr/local/apache2/bin", mode: 0o755, dir: true}, {name: "usr/local/apache2/bin/httpd", mode: 0o755, data: me}},
			config: imageConfig{Env: sh.Env, Cmd: []string{"/usr/local/apache2/bin/httpd"}}},
		// A set-user-id root program printing its effective uid: 0 unless no_new_privs stops the switch.
		{refs: []string{e2e + "nonewprivs:1.3"}, files: []file{{name: "usr/local/bin/nnp", mode: 0o4755, data: me}},
			config: imageConfig{Env: sh.Env, Cmd: []string{"/usr/local/bin/nnp"}}},
		// cri-tools' images/build: USER per image.
		{refs: []string{critest + "test-image-user-uid:latest"}, config: user("1002")},
		{refs: []string{critest + "test-image-user-username:latest"}, config: user("www-data")},
		{refs: []string{critest + "test-image-user-uid-group:latest"}, config: user("1003:1004")},
		{refs: []string{critest + "test-image-user-username-group:latest"}, config: user("www-data:1004")},
		// cri-tools' images/image-predefined-group: user 1000 in a group 50000 that only the image's /etc/group names.
		{refs: []string{critest + "test-image-predefined-group:latest"}, config: user("1000"), files: []file{
			{name: "etc/passwd", mode: 0o644, data: []byte(passwd + "default-user:x:1000:1000::/home/default-user:/bin/sh\n")},
			{name: "etc/group", mode: 0o644, data: []byte(group + "default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n")},
		}},
		// cri-tools' images/image-test: busybox plus a file named after the image, so that each is distinct.
		{refs: []string{critest + "test-image-latest:latest"}, files: marker("test-image-latest"), config: sh},
		{refs: []string{critest + "test-image-tag:test", critest + "test-image-tag:all"}, files: marker("test-image-tag"), config: sh},
		{refs: []string{critest + "test-image-1:latest"}, files: marker("test-image-1"), config: sh},
		{refs: []string{critest + "test-image-2:latest"}, files: marker("test-image-2"), config: sh},
		{refs: []string{critest + "test-image-3:latest"}, files: marker("test-image-3"), config: sh},
		{refs: []string{critest + "test-image-tags:1", critest + "test-image-tags:2", critest + "test-image-tags:3"},
			files: marker("test-image-tags"), config: sh},
	}
	for _, img := range images {
		layers := []layer{baseLayer}
		if img.alone {
			layers = nil
		}
		if img.files != nil {
			l, err := r.layer(img.files)
			if err != nil {
				return nil, err
			}
			layers = append(layers, l)
		}
		digest, err := r.manifest(layers, img.config)
		if err != nil {
			return nil, err
		}
		for _, ref := range img.refs {
			r.tags[ref] = digest
		}
	}
	return r, nil
}

// layer is a stored layer blob: its digest and size, and the digest of its uncompressed tar (the diff id).
type layer struct {
	digest, diffID string
	size           int
}

// epoch is every entry's mtime, so that a rebuild gives the same digests.
var epoch = time.Unix(0, 0)

// layer stores files as a gzipped tar and returns it.
func (r *registry) layer(files []file) (layer, error) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: epoch, Format: tar.FormatPAX}
		switch {
		case f.dir:
			h.Typeflag, h.Name = tar.TypeDir, f.name+"/"
		case f.link != "":
			h.Typeflag, h.Linkname = tar.TypeLink, f.link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return layer{}, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return layer{}, err
		}
	}
	if err := tw.Close(); err != nil {
		return layer{}, err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return layer{}, err
	}
	if err := zw.Close(); err != nil {
		return layer{}, err
	}
	return layer{digest: r.blob(gz.Bytes()), diffID: digestOf(raw.Bytes()), size: gz.Len()}, nil
}

// manifest stores an OCI image config and manifest for layers, and returns the manifest's digest.
func (r *registry) manifest(layers []layer, c imageConfig) (string, error) {
	type descriptor struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int    `json:"size"`
	}
	diffIDs := []string{}
	descs := []descriptor{}
	for _, l := range layers {
		diffIDs = append(diffIDs, l.diffID)
		descs = append(descs, descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: l.digest, Size: l.size})
	}
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "created": epoch.UTC().Format(time.RFC3339), "config": c,
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	if err != nil {
		return "", err
	}
	m, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: r.blob(config), Size: len(config)},
		"layers":        descs,
	})
	if err != nil {
		return "", err
	}
	d := digestOf(m)
	r.manifests[d] = m
	return d, nil
}

func (r *registry) blob(b []byte) string {
	d := digestOf(b)
	r.blobs[d] = b
	return d
}

func digestOf(b []byte) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256(b))
}

// ServeHTTP answers the distribution API's reads: /v2/, /v2/NAME/manifests/REF, /v2/NAME/blobs/DIGEST.
func (r *registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		http.Error(w, "read-only registry", http.StatusMethodNotAllowed)
		return
	}
	p := path.Clean(req.URL.Path)
	if p == "/v2" {
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		return
	}
	var body []byte
	var ctype, digest string
	if i := strings.LastIndex(p, "/manifests/"); strings.HasPrefix(p, "/v2/") && i > 0 {
		name, ref := p[len("/v2/"):i], p[i+len("/manifests/"):]
		digest = ref
		if !strings.HasPrefix(ref, "sha256:") {
			digest = r.tags[name+":"+ref]
		}
		body, ctype = r.manifests[digest], "application/vnd.oci.image.manifest.v1+json"
	} else if i := strings.LastIndex(p, "/blobs/"); strings.HasPrefix(p, "/v2/") && i > 0 {
		digest = p[i+len("/blobs/"):]
		body, ctype = r.blobs[digest], "application/octet-stream"
	}
	if body == nil {
		http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Docker-Content-Digest", digest)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	if req.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}
