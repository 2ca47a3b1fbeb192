package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/probe-appliance/probe/firmware/update"
)

// keygen writes a new ed25519 signing key as PKCS#8 PEM (what
// `openssl genpkey -algorithm ed25519` writes), readable by its owner only.
func keygen(args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ExitOnError)
	out := fs.String("out", "", "where to write the private key (must not exist)")
	fs.Parse(args)
	if *out == "" {
		return errors.New("keygen: -out is required")
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func loadSigningKey(path string) (ed25519.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("%s: not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: a %T key, not ed25519", path, k)
	}
	return priv, nil
}

// pubkey prints the key's public half as the appliance's key files and
// settings hold it (base64 of the 32 bytes).
func pubkey(args []string) error {
	fs := flag.NewFlagSet("pubkey", flag.ExitOnError)
	key := fs.String("key", "", "the ed25519 private key (PKCS#8 PEM)")
	fs.Parse(args)
	priv, err := loadSigningKey(*key)
	if err != nil {
		return fmt.Errorf("pubkey: %w", err)
	}
	fmt.Println(base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)))
	return nil
}

// sign writes FILE.sig for each FILE: the base64 of the ed25519 signature
// of its bytes, as /appliance/v1/update's kernel_sig and initrd_sig take it.
func sign(args []string) error {
	fs := flag.NewFlagSet("sign", flag.ExitOnError)
	key := fs.String("key", "", "the ed25519 private key (PKCS#8 PEM)")
	fs.Parse(args)
	priv, err := loadSigningKey(*key)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	for _, file := range fs.Args() {
		msg, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("sign: %w", err)
		}
		sig := ed25519.Sign(priv, msg)
		if err := os.WriteFile(file+update.SigSuffix, []byte(base64.StdEncoding.EncodeToString(sig)+"\n"), 0o644); err != nil {
			return fmt.Errorf("sign: %w", err)
		}
		// Signed as the appliance will check it.
		if ok, err := update.VerifyFile(file, sig, []ed25519.PublicKey{pub}); err != nil || !ok {
			return fmt.Errorf("sign: %s: the signature does not verify (%v)", file, err)
		}
	}
	return nil
}
