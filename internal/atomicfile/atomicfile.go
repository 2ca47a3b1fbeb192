// Package atomicfile writes small files so that a crash or a power cut
// leaves either the old content or the new one, never a torn file: settings,
// certificates, boot loader entries.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write stores data at path: a temporary file beside it is written and
// synced, renamed over path, and the directory synced so the rename itself
// survives a power cut. A failed write or sync leaves path untouched and
// removes the temporary file.
func Write(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	// One err for write, sync and close: any failure must keep the old file.
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir makes the renames and creations in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
