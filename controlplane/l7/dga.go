package l7

import (
	"bytes"
	"strings"
	"sync"
)

// DGA is nDPI 4.2's built-in lexical heuristic for algorithmically
// generated domain names (ndpi_check_dga_name with is_hostname=1), written
// from ../shared/research/ndpi-detection.md §1. The bigram and trigram
// tables are nDPI's own (ndpi_dga_gen.go); testdata/ndpi_dga.golden holds
// real libndpi's verdict on thousands of names and the Go code must agree
// with every one.

// dgaMaxLen is how much of a name nDPI scores: it copies the name into a
// 128-byte buffer.
const dgaMaxLen = 127

// dgaTables are the three gram sets as bitmaps over a-z.
type dgaTables struct {
	bigram, impossible [(26*26 + 63) / 64]uint64
	trigram            [(26*26*26 + 63) / 64]uint64
}

var dgaGrams = sync.OnceValue(func() *dgaTables {
	t := new(dgaTables)
	fill := func(bits []uint64, list string) {
		for _, g := range strings.Fields(list) {
			i := 0
			for _, c := range []byte(g) {
				i = i*26 + int(c-'a')
			}
			bits[i/64] |= 1 << (i % 64)
		}
	}
	fill(t.bigram[:], ndpiDGABigrams)
	fill(t.impossible[:], ndpiDGAImpossibleBigrams)
	fill(t.trigram[:], ndpiDGATrigrams)
	return t
})

// letterIndex is c's place in a-z, -1 for anything else (a lookup of a
// gram with such a character fails, as nDPI's does).
func letterIndex(c byte) int {
	if c >= 'a' && c <= 'z' {
		return int(c - 'a')
	}
	return -1
}

func has2(bits []uint64, a, b byte) bool {
	x, y := letterIndex(a), letterIndex(b)
	if x < 0 || y < 0 {
		return false
	}
	i := x*26 + y
	return bits[i/64]&(1<<(i%64)) != 0
}

func has3(bits []uint64, a, b, c byte) bool {
	x, y, z := letterIndex(a), letterIndex(b), letterIndex(c)
	if x < 0 || y < 0 || z < 0 {
		return false
	}
	i := (x*26+y)*26 + z
	return bits[i/64]&(1<<(i%64)) != 0
}

// dgaVowel: nDPI counts y and x as vowels too.
func dgaVowel(c byte) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u', 'y', 'x':
		return true
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// dgaElementEnd are the characters that end a name element in pass 1.
func dgaElementEnd(c byte) bool {
	switch c {
	case '.', '-', '_', '/', '(', ')', ';', ':', '[', ']', ' ':
		return true
	}
	return false
}

// dgaExemptSuffixes are the endings nDPI never scores.
var dgaExemptSuffixes = [...]string{"in-addr.arpa", "ip6.arpa", ".local", ".lan", ".home"}

// IsDGAName is nDPI's verdict on a host name with the built-in host table
// as the only exemption (a name one of its patterns matches is never DGA).
func IsDGAName(name string) bool { return dgaMemo.get(name, isDefaultDGAName) }

// dgaMemo keeps IsDGAName's recent verdicts (the host table is fixed).
var dgaMemo = newNameMemo[bool]()

func isDefaultDGAName(name string) bool {
	return isDGAName(name, func(s string) bool { return defaultHostTables().hosts.search(s) >= 0 })
}

// IsDGAName is nDPI's verdict with the catalog's custom host rules in the
// host automaton too, as nDPI loads a protos file's hosts into it.
func (c *Catalog) IsDGAName(name string) bool {
	if c == nil || len(c.hosts) == 0 && len(c.prefixes) == 0 {
		return IsDGAName(name)
	}
	return isDGAName(name, func(s string) bool {
		if _, ok := c.fileHost(s); ok {
			return true
		}
		return defaultHostTables().hosts.search(s) >= 0
	})
}

// isDGAName is ndpi_check_dga_name's built-in predictor. known reports a
// host-automaton match. C int arithmetic throughout: integer division, and
// triFound-1 may be -1.
func isDGAName(name string, known func(string) bool) bool {
	// §1.1: entry checks.
	if strings.IndexByte(name, '_') >= 0 {
		return false
	}
	for _, s := range dgaExemptSuffixes {
		if strings.HasSuffix(name, s) {
			return false
		}
	}
	if known(name) {
		return false
	}
	if name != "" && isDigit(name[0]) && isCanonicalIPv4(name) {
		return false
	}
	name = strings.TrimPrefix(name, "www.")
	if len(name) < 5 {
		return false
	}

	// §1.2: pass 1 over a lower-cased copy.
	var buf [dgaMaxLen]byte
	n := copy(buf[:], name)
	tmp := buf[:n]
	dots, vowels, digits := 0, 0, 0
	firstNumeric := true
	maxRun, run := 0, 0
	maxElem, elem := 0, 0
	var last byte
	for i := range tmp {
		c := lowerASCII(tmp[i])
		tmp[i] = c
		if c == '.' {
			dots++
		} else if dots == 0 && !isDigit(c) {
			firstNumeric = false
		}
		if dgaVowel(c) {
			vowels++
		}
		if i > 0 && c == last {
			run++
			if run > maxRun {
				maxRun = run
			}
		} else {
			run = 1
		}
		last = c
		if isDigit(c) {
			digits++
			if i+2 < n && isDigit(name[i+1]) && name[i+2] == '.' && digits < 4 {
				return false // "abc12.com": a number, not a generator
			}
		}
		if dgaElementEnd(c) {
			elem = 0
		} else {
			elem++
			maxElem = max(maxElem, elem)
		}
	}
	if dots == 0 {
		return false
	}

	// §1.3: early positives.
	if dots > 5 && !firstNumeric || maxRun > 5 || maxElem >= 19 && (run >= 2 || digits > 1) {
		return true
	}

	// §1.4: pass 2, per label.
	t := dgaGrams()
	words, dash := 0, 0
	bigramChecks, found, impossible := 0, 0, 0
	triChecked, triFound, triVowels := 0, 0, 0
	skipBigram := false
	for rest := tmp; len(rest) > 0; {
		label := rest
		if i := bytes.IndexByte(rest, '.'); i >= 0 {
			label, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if len(label) == 0 {
			continue
		}
		words++
		if len(label) < 3 {
			continue
		}
		triSkip := 0
		for i := 0; i+1 < len(label); i++ {
			a, b := label[i], label[i+1]
			if a == '-' {
				dash++
				if b == '-' {
					return false // "r2---sn-...": a CDN's node name
				}
				continue
			}
			if a == ':' {
				continue
			}
			bigramChecks++
			if has2(t.impossible[:], a, b) {
				impossible++
			} else if skipBigram {
				skipBigram = false
			} else if has2(t.bigram[:], a, b) {
				found++
				skipBigram = true
			}
			if i+2 >= len(label) {
				continue
			}
			c := label[i+2]
			if isDigit(a) || isDigit(b) || isDigit(c) || a == '-' || b == '-' || c == '-' {
				triSkip = 0
				continue
			}
			if triSkip > 0 {
				triSkip--
				continue
			}
			triChecked++
			if has3(t.trigram[:], a, b, c) {
				triFound++
				triSkip = 2
			}
			for _, v := range [3]byte{a, b, c} {
				if dgaVowel(v) {
					triVowels++
				}
			}
		}
	}

	// §1.5: the verdict.
	dga := false
	if n > 16 && dots < 3 && vowels*4 < n-dots && !(triChecked > 2 && triVowels >= triFound-1) {
		dga = true
	}
	if bigramChecks > 0 && (found == 0 || digits > 5 && words <= 3 || dgaEnough(found, impossible) ||
		triChecked > 2 && (triFound < triChecked/2 ||
			triVowels < triFound-1 && dash == 0 && dots > 1 && impossible > 0)) {
		dga = true
	}
	if triChecked > 2 && vowels == 0 {
		dga = true
	}
	if dash > 2 {
		dga = false
	}
	return dga
}

// dgaEnough is nDPI's enough(): too many impossible bigrams for the
// English ones found.
func dgaEnough(found, impossible int) bool {
	if impossible <= 1 {
		return false
	}
	if found == 0 {
		return true
	}
	return impossible > ((found+1)*20)/100
}

// isCanonicalIPv4 is inet_ntoa(inet_addr(s)) == s: a dotted quad written
// the way inet_ntoa writes it.
func isCanonicalIPv4(s string) bool {
	a, ok := parseIPv4(s)
	return ok && a.String() == s
}
