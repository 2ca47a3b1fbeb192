package pcapfilter

import "testing"

// FuzzCompile: no input may panic or hang the compiler, and whatever
// compiles must run on any frame.
func FuzzCompile(f *testing.F) {
	for _, e := range differentialExprs {
		f.Add(e)
	}
	for _, e := range unsupportedExprs {
		f.Add(e)
	}
	frames := variedFrames(f)
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := Compile(expr)
		if err != nil {
			return
		}
		for _, fr := range frames {
			flt.Match(fr)
		}
	})
}
