package rest

import (
	"reflect"
	"strings"
	"testing"
)

// TestTypedAnswersKeepMapOrder: the structs that replaced map answers
// declare their fields in the order encoding/json wrote the maps' keys
// (sorted, byte order), each name once, so a field added in the wrong
// place is caught even where no golden answer has it.
func TestTypedAnswersKeepMapOrder(t *testing.T) {
	for _, v := range []any{
		hostDataAnswer{}, hostCardinality{}, behaviourEntry{}, roleBehaviour{}, hostDNS{}, dnsStats{},
		dirTotals{}, fingerprint{}, hostHTTP{}, virtualHost{}, httpSide{}, httpQueries{}, httpResponses{},
		httpRate{}, httpQueryRate{}, httpResponseRate{}, hostNames{}, hostApp{}, hostCategory{},
		blacklistedFlows{}, pktStats{}, tcpFlags{}, scorePct{}, serverContacts{}, tcpPacketStats{},
		hostIface{}, hostList{}, flowList{}, topTalker{},
		ifaceRef{}, ifaceDataAnswer{}, ifaceTCPStats{}, ifaceThroughput{}, rate{}, ifaceAddresses{},
		l4Count{}, l7Count{}, l4Const{}, l7AppConst{}, l7CategoryConst{}, l7CategoryApp{},
		alertTypeConst{}, alertSeverityConst{}, alertRow{}, alertTypeCount{}, alertSeverityCount{},
		countAnswer{}, alertListRsp{}, alertRecord{}, labelledCell{}, descrCell{}, roleCell{}, alertScore{},
		alertTstamp{}, alertMsg{}, alertFilter{}, alertFlow{}, alertPeer{}, alertInfo{}, alertL7Proto{},
	} {
		typ := reflect.TypeOf(v)
		prev := ""
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if name == "" || name == "-" {
				t.Errorf("%s.%s has no JSON name", typ.Name(), typ.Field(i).Name)
				continue
			}
			if i > 0 && name <= prev {
				t.Errorf("%s: %q after %q: the map this replaced wrote keys sorted", typ.Name(), name, prev)
			}
			prev = name
		}
	}
	if n := reflect.TypeOf(hostDataAnswer{}).NumField(); len(hostFields) != n {
		t.Errorf("custom_data knows %d of get/host/data's %d fields", len(hostFields), n)
	}
}
