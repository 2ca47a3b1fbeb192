package alert

import "testing"

func TestSeverityForScore(t *testing.T) {
	// ntopng's score levels: notice from 10, warning from 50, error from
	// 100, critical from 150.
	cases := []struct {
		score int
		want  Severity
	}{{0, SeverityInfo}, {9, SeverityInfo}, {10, SeverityNotice}, {49, SeverityNotice}, {50, SeverityWarning},
		{99, SeverityWarning}, {100, SeverityError}, {149, SeverityError}, {150, SeverityCritical}, {1000, SeverityCritical}}
	for _, c := range cases {
		if got := SeverityForScore(c.score); got != c.want {
			t.Errorf("SeverityForScore(%d) = %s, want %s", c.score, got.Name(), c.want.Name())
		}
	}
}

func TestParseSeverity(t *testing.T) {
	cases := []struct {
		in   string
		want Severity
		ok   bool
	}{{"error", SeverityError, true}, {"5", SeverityError, true}, {"8", SeverityEmergency, true}, {"7", 0, false},
		{"", 0, false}, {"-1", 0, false}, {"99999999999999999999", 0, false}, {"Error", 0, false}}
	for _, c := range cases {
		got, ok := ParseSeverity(c.in)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("ParseSeverity(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestDescribeLikeNtopng(t *testing.T) {
	// Descriptions as ntopng recorded them on its test capture.
	cases := []struct {
		t    TypeID
		info string
		want string
	}{
		{TypeID{FamilyFlow, FlowUnexpectedDNS}, "192.168.1.1", "Unexpected DNS server found: 192.168.1.1"},
		{TypeID{FamilyFlow, FlowRemoteToRemote}, "", ""},
		{TypeID{FamilyFlow, FlowDNSSuspicious}, "DNS Record with zero TTL",
			`Suspicious DNS Traffic <a href="https://www.ntop.org/guides/nDPI/flow_risks.html#risk-023" target="_blank"><i class="fas fa-lg fa-question-circle"></i></a> [DNS Record with zero TTL]`},
		{TypeID{FamilyFlow, FlowTLSCertMismatch}, "cdn.gigya.com vs a248.e.akamai.net",
			`TLS Certificate Mismatch  <a href="https://www.ntop.org/guides/nDPI/flow_risks.html#risk-010" target="_blank"><i class="fas fa-lg fa-question-circle"></i></a> [cdn.gigya.com vs a248.e.akamai.net]`},
		{TypeID{FamilyFlow, FlowTLSOldVersion}, "TLSv1",
			`Obsolete TLS Version [Version: TLSv1] <a href="https://www.ntop.org/guides/nDPI/flow_risks.html#risk-007" target="_blank"><i class="fas fa-lg fa-question-circle"></i></a> [TLSv1]`},
		// The attack a URL carried is shown, not run by the console.
		{TypeID{FamilyFlow, FlowURLPossibleXSS}, `a.example/s?q=<script>alert("x")</script>&b=1`,
			`Possible XSS <a href="https://www.ntop.org/guides/nDPI/flow_risks.html#risk-001" target="_blank"><i class="fas fa-lg fa-question-circle"></i></a> [a.example/s?q=&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;b=1]`},
	}
	for _, c := range cases {
		if got := Describe(c.t, c.info); got != c.want {
			t.Errorf("Describe(%v, %q) =\n %q\nwant\n %q", c.t, c.info, got, c.want)
		}
	}
	if got, want := ShortTitle(TypeID{FamilyFlow, FlowTLSCertMismatch}),
		`TLS Cert. Mismatch <a href="https://www.ntop.org/guides/nDPI/flow_risks.html#risk-010" target="_blank"><i class="fas fa-lg fa-question-circle"></i></a>`; got != want {
		t.Errorf("ShortTitle = %q, want %q", got, want)
	}
}

func TestEveryRaisedTypeIsDefined(t *testing.T) {
	checks := map[string]TypeID{}
	for _, tp := range Raised() {
		m := MetaOf(tp)
		if m.Title == "" || m.Check == "" || m.Score <= 0 {
			t.Errorf("%v: incomplete meta %+v", tp, m)
		}
		if prev, dup := checks[m.Check]; dup {
			t.Errorf("check %s raises both %v and %v", m.Check, prev, tp)
		}
		checks[m.Check] = tp
	}
	if len(Raised()) != len(metas) {
		t.Errorf("%d raised types have no definition", len(metas)-len(Raised()))
	}
	seen := map[TypeID]bool{}
	for _, d := range Defs() {
		if seen[TypeID{d.Family, d.ID}] {
			t.Errorf("definition %v listed twice", d)
		}
		seen[TypeID{d.Family, d.ID}] = true
	}
}
