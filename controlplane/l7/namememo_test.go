package l7

import (
	"sync"
	"testing"
)

// TestNameMemoAnswersAsComputed runs every golden host and DGA name through
// the memoised MatchHost and IsDGAName three times, from two goroutines at
// once, interleaved so names keep evicting each other's slots, and holds
// each answer to the direct computation: a memo that ever returns another
// name's answer, or a torn one, fails here.
func TestNameMemoAnswersAsComputed(t *testing.T) {
	var names []string
	for _, g := range readHostGolden(t) {
		names = append(names, g.name)
	}
	for _, g := range readDGAGolden(t) {
		names = append(names, g.name)
	}
	if len(names) < 2*nameMemoSlots {
		t.Fatalf("%d names: too few to make the memo evict", len(names))
	}
	hosts, dgas := newNameMemo[HostMatch](), newNameMemo[bool]()
	var wg sync.WaitGroup
	errs := make(chan string, 2)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 3 {
				for i := range names {
					n := names[(i*(w+1)+round*7)%len(names)]
					if got, want := hosts.get(n, matchHost), matchHost(n); got != want {
						errs <- "MatchHost(" + n + ") from the memo differs"
						return
					}
					if got, want := dgas.get(n, isDefaultDGAName), isDefaultDGAName(n); got != want {
						errs <- "IsDGAName(" + n + ") from the memo differs"
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
