package rest

import "testing"

// The typed answers' cost against the maps they replaced: run the same
// benchmarks on the commit before them for the baseline.

func benchAnswer(b *testing.B, hosts int, uri string) {
	s := newTestServer(b, hosts, true)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ctx := do(s, uri, nil); ctx.Response.StatusCode() != 200 {
			b.Fatalf("%s: %d %s", uri, ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}

// BenchmarkHostDataAnswer is get/host/data of a host with 1000 flows.
func BenchmarkHostDataAnswer(b *testing.B) {
	benchAnswer(b, 1000, "/lua/rest/v1/get/host/data.lua?ifid=0&host=192.168.1.10")
}

// BenchmarkCustomDataAll is get/host/custom_data of 1000 hosts, every field.
func BenchmarkCustomDataAll(b *testing.B) {
	benchAnswer(b, 1000, "/lua/rest/v1/get/host/custom_data.lua?ifid=0")
}

// BenchmarkCustomDataFields is the exporter's call: three fields of 1000 hosts.
func BenchmarkCustomDataFields(b *testing.B) {
	benchAnswer(b, 1000, "/lua/rest/v1/get/host/custom_data.lua?ifid=0&field_alias=ip,bytes.sent=tx,bytes.rcvd=rx")
}

// BenchmarkInterfaceDataAnswer is get/interface/data.
func BenchmarkInterfaceDataAnswer(b *testing.B) {
	benchAnswer(b, 1000, "/lua/rest/v1/get/interface/data.lua?ifid=0")
}
