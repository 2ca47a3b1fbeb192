package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Put stores v, JSON-encoded, under (ns, key), replacing any previous value.
func (s *Store) Put(ns, key string, v any) error {
	return s.put(ns, key, v, 0)
}

// PutTTL is Put with an expiry; Badger drops the record once ttl has passed.
// Badger expiry has one-second granularity, so ttl is rounded up: a record
// may outlive ttl by under a second but never disappears early.
func (s *Store) PutTTL(ns, key string, v any, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("store: put %s/%s: non-positive ttl %v", ns, key, ttl)
	}
	return s.put(ns, key, v, ttl)
}

func (s *Store) put(ns, key string, v any, ttl time.Duration) error {
	k, err := kvKey(ns, key)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %s/%s: %w", ns, key, err)
	}
	if err := s.writable(false); err != nil {
		return fmt.Errorf("store: put %s/%s: %w", ns, key, err)
	}
	e := badger.NewEntry(k, raw)
	if ttl > 0 {
		e.ExpiresAt = uint64(time.Now().Add(ttl + time.Second - 1).Unix())
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.SetEntry(e) }); err != nil {
		return fmt.Errorf("store: put %s/%s: %w", ns, key, err)
	}
	return nil
}

// Get decodes the record at (ns, key) into v. A missing or expired record
// is found=false with a nil error.
func (s *Store) Get(ns, key string, v any) (found bool, err error) {
	k, err := kvKey(ns, key)
	if err != nil {
		return false, err
	}
	err = s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		if err != nil {
			return err
		}
		return item.Value(func(raw []byte) error { return json.Unmarshal(raw, v) })
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: get %s/%s: %w", ns, key, err)
	}
	return true, nil
}

// Delete removes (ns, key); deleting a missing key is not an error.
func (s *Store) Delete(ns, key string) error {
	k, err := kvKey(ns, key)
	if err != nil {
		return err
	}
	if err := s.writable(false); err != nil {
		return fmt.Errorf("store: delete %s/%s: %w", ns, key, err)
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(k) }); err != nil {
		return fmt.Errorf("store: delete %s/%s: %w", ns, key, err)
	}
	return nil
}

// List calls fn for every live record of ns in key order. raw is the JSON
// value and is only valid during the call. An error from fn stops the
// iteration and is returned unchanged. fn may write to the store: the
// iteration walks a snapshot taken when List started.
func (s *Store) List(ns string, fn func(key string, raw []byte) error) error {
	p, err := nsPrefix(ns)
	if err != nil {
		return err
	}
	var fnErr error
	err = s.view(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.Prefix = p
		it := txn.NewIterator(io)
		defer it.Close()
		for it.Seek(p); it.ValidForPrefix(p); it.Next() {
			item := it.Item()
			key := string(item.Key()[len(p):])
			if err := item.Value(func(raw []byte) error {
				fnErr = fn(key, raw)
				return fnErr
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("store: list %s: %w", ns, err)
	}
	return nil
}

// view is db.View for reads of damaged stores: a panic while decoding
// Badger's files becomes an error.
func (s *Store) view(fn func(txn *badger.Txn) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store damaged: read panicked: %v", r)
		}
	}()
	return s.db.View(fn)
}
