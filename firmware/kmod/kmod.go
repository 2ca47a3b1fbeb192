// Package kmod picks the kernel modules a board needs out of a kernel's
// module tree: each module with everything modules.dep says it depends on,
// copied with the same relative paths, plus a modules.dep (and
// modules.builtin) describing only what was copied, so the image stays small
// and u-root's loader resolves dependencies from it at boot.
package kmod

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/u-root/u-root/pkg/kmodule"
)

// Tree is one kernel release's module directory (lib/modules/<kver>) as
// depmod wrote it.
type Tree struct {
	Dir string
	// deps maps a module's relative path to its dependencies' paths.
	deps map[string][]string
	// byName maps normalised module names (underscores) to relative paths.
	byName map[string]string
	// builtin holds normalised names of modules compiled into the kernel.
	builtin map[string]bool
}

// Name normalises a module name or path the way the kernel does: base name
// without .ko(.xz|.gz|.zst), dashes as underscores.
func Name(s string) string {
	s = path.Base(s)
	if i := strings.Index(s, ".ko"); i >= 0 {
		s = s[:i]
	}
	return strings.ReplaceAll(s, "-", "_")
}

// Open reads dir/modules.dep and dir/modules.builtin.
func Open(dir string) (*Tree, error) {
	t := &Tree{Dir: dir, deps: map[string][]string{}, byName: map[string]string{}, builtin: map[string]bool{}}
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("kmod: %w (run depmod first)", err)
	}
	defer f.Close()
	if err := t.parseDep(f); err != nil {
		return nil, fmt.Errorf("kmod: %s: %w", f.Name(), err)
	}
	if b, err := os.Open(filepath.Join(dir, "modules.builtin")); err == nil {
		defer b.Close()
		sc := bufio.NewScanner(b)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				t.builtin[Name(line)] = true
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("kmod: modules.builtin: %w", err)
		}
	}
	return t, nil
}

func (t *Tree) parseDep(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		mod, deps, ok := strings.Cut(line, ":")
		if !ok || mod == "" {
			return fmt.Errorf("line %d: no module path before ':'", n)
		}
		t.deps[mod] = strings.Fields(deps)
		t.byName[Name(mod)] = mod
	}
	return sc.Err()
}

// Resolve returns the relative paths of the named modules and their
// dependencies, dependencies first, each once. Built-in modules need nothing;
// unknown names are an error (a typo in a board file must fail the build).
func (t *Tree) Resolve(names []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	var visit func(p string, stack []string) error
	visit = func(p string, stack []string) error {
		if seen[p] {
			return nil
		}
		if slices.Contains(stack, p) {
			return fmt.Errorf("dependency cycle: %s", strings.Join(append(stack, p), " -> "))
		}
		for _, d := range t.deps[p] {
			if _, ok := t.deps[d]; !ok {
				return fmt.Errorf("%s depends on %s, which modules.dep does not list", p, d)
			}
			if err := visit(d, append(stack, p)); err != nil {
				return err
			}
		}
		seen[p] = true
		out = append(out, p)
		return nil
	}
	var errs []error
	for _, n := range names {
		p, ok := t.byName[Name(n)]
		switch {
		case ok:
			if err := visit(p, nil); err != nil {
				errs = append(errs, err)
			}
		case t.builtin[Name(n)]:
		default:
			errs = append(errs, fmt.Errorf("module %q is neither in modules.dep nor built in", n))
		}
	}
	return out, errors.Join(errs...)
}

// Stage copies the resolved modules into dst (a lib/modules/<kver>
// directory) and writes a modules.dep for exactly those, in dependency order,
// plus the tree's modules.builtin.
func (t *Tree) Stage(dst string, mods []string) error {
	var dep strings.Builder
	for _, m := range mods {
		if err := copyFile(filepath.Join(t.Dir, m), filepath.Join(dst, m)); err != nil {
			return err
		}
		fmt.Fprintf(&dep, "%s:", m)
		for _, d := range t.deps[m] {
			fmt.Fprintf(&dep, " %s", d)
		}
		dep.WriteByte('\n')
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("kmod: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dst, "modules.dep"), []byte(dep.String()), 0o644); err != nil {
		return fmt.Errorf("kmod: %w", err)
	}
	src := filepath.Join(t.Dir, "modules.builtin")
	if _, err := os.Stat(src); err == nil {
		return copyFile(src, filepath.Join(dst, "modules.builtin"))
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("kmod: %w", err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("kmod: %w", err)
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("kmod: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("kmod: copy %s: %w", src, err)
	}
	return out.Close()
}

// LoadAll loads the named modules with their dependencies from the running
// kernel's module tree, all at once: under emulation each finit_module
// (signature check, relocation) is slow, and the CPUs are otherwise idle.
// It returns per-module errors joined; a module already loaded is no error.
func LoadAll(names []string, report func(name string, took time.Duration, err error)) error {
	// One prober for all: it reads modules.dep once, and a dependency
	// several modules share (virtio, virtio_ring) is loaded once while the
	// others wait for it; a second finit_module of a module being loaded
	// checks its signature again before the kernel says EEXIST.
	p, err := kmodule.NewProber(kmodule.ProbeOpts{})
	if err != nil {
		return fmt.Errorf("module dependencies: %w", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			err := p.Probe(n, "")
			if err != nil {
				errs[i] = fmt.Errorf("module %s: %w", n, err)
			}
			if report != nil {
				report(n, time.Since(start), err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
