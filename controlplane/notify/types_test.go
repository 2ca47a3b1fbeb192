package notify

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/probe-appliance/probe/internal/badinput"
)

func TestEndpointValidate(t *testing.T) {
	ep := func(typ string, kv ...string) Endpoint {
		c := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			c[kv[i]] = kv[i+1]
		}
		return Endpoint{ID: 1, Name: "e", Type: typ, Conf: c}
	}
	const from, to = "a@example.com", "b@example.com"
	for _, tc := range []struct {
		name    string
		ep      Endpoint
		wantErr string // "" means valid
	}{
		{"webhook", ep(TypeWebhook, ParamWebhookURL, "https://hooks.example.com/x?y=1", ParamWebhookUsername, "u", ParamWebhookPassword, "p", ParamWebhookHeaders, "X-A: 1\nX-B: 2"), ""},
		{"webhook ipv6", ep(TypeWebhook, ParamWebhookURL, "http://[::1]:8080/"), ""},
		{"syslog defaults", ep(TypeSyslog, ParamSyslogHost, "logs.example.com"), ""},
		{"syslog full", ep(TypeSyslog, ParamSyslogHost, "fe80::1", ParamSyslogPort, "6514", ParamSyslogProtocol, "tcp", ParamSyslogFormat, "json", ParamSyslogFacility, "LOCAL7"), ""},
		{"email", ep(TypeEmail, ParamSMTPServer, "mail.example.com:587", ParamEmailSender, from, ParamEmailRecipient, to+", C <c@example.com>"), ""},
		{"email smtps", ep(TypeEmail, ParamSMTPServer, "smtps://mail.example.com", ParamEmailSender, from, ParamEmailRecipient, to, ParamSMTPUsername, "u", ParamSMTPPassword, "p"), ""},
		{"email bare host", ep(TypeEmail, ParamSMTPServer, "mail", ParamEmailSender, from, ParamEmailRecipient, to), ""},

		{"negative id", Endpoint{ID: -1, Name: "e", Type: TypeSyslog}, "id is negative"},
		{"no name", Endpoint{ID: 1, Name: " ", Type: TypeSyslog}, "name is empty"},
		{"unknown type", ep("pagerduty"), `unknown type "pagerduty"`},
		{"unknown param", ep(TypeWebhook, ParamWebhookURL, "http://x", "webhok_secret", "s"), `unknown parameter "webhok_secret"`},
		{"webhook no url", ep(TypeWebhook), "webhook_url is missing"},
		{"webhook bad scheme", ep(TypeWebhook, ParamWebhookURL, "ftp://example.com/"), `scheme "ftp" is not http or https`},
		{"webhook no scheme", ep(TypeWebhook, ParamWebhookURL, "example.com/hook"), `scheme "" is not http`},
		{"webhook no host", ep(TypeWebhook, ParamWebhookURL, "http:///path"), "host is missing"},
		{"webhook bad host", ep(TypeWebhook, ParamWebhookURL, "http://exa mple.com/"), "webhook_url"},
		{"webhook port", ep(TypeWebhook, ParamWebhookURL, "http://example.com:70000/"), "out of range"},
		{"webhook password alone", ep(TypeWebhook, ParamWebhookURL, "http://x", ParamWebhookPassword, "p"), "webhook_password is set without webhook_username"},
		{"webhook colon user", ep(TypeWebhook, ParamWebhookURL, "http://x", ParamWebhookUsername, "a:b"), "basic auth"},
		{"webhook bad header", ep(TypeWebhook, ParamWebhookURL, "http://x", ParamWebhookHeaders, "no colon"), "not a \"Name: value\" header"},
		{"webhook bad header name", ep(TypeWebhook, ParamWebhookURL, "http://x", ParamWebhookHeaders, "X A: 1"), "header"},
		{"webhook header CR", ep(TypeWebhook, ParamWebhookURL, "http://x", ParamWebhookHeaders, "X-A: 1\rX-B: 2"), "control character"},
		{"webhook host header", ep(TypeWebhook, ParamWebhookURL, "http://x", ParamWebhookHeaders, "host: evil"), "cannot be set"},
		{"syslog no host", ep(TypeSyslog), "syslog_host: host is missing"},
		{"syslog port 0", ep(TypeSyslog, ParamSyslogHost, "h", ParamSyslogPort, "0"), "out of range 1-65535"},
		{"syslog port text", ep(TypeSyslog, ParamSyslogHost, "h", ParamSyslogPort, "syslog"), "out of range"},
		{"syslog protocol", ep(TypeSyslog, ParamSyslogHost, "h", ParamSyslogProtocol, "tls"), `unknown protocol "tls"`},
		{"syslog format", ep(TypeSyslog, ParamSyslogHost, "h", ParamSyslogFormat, "rfc3164"), `unknown format "rfc3164"`},
		{"syslog facility name", ep(TypeSyslog, ParamSyslogHost, "h", ParamSyslogFacility, "local8"), `unknown facility "local8"`},
		{"syslog facility number", ep(TypeSyslog, ParamSyslogHost, "h", ParamSyslogFacility, "24"), "out of range 0-23"},
		{"syslog host with port", ep(TypeSyslog, ParamSyslogHost, "h:514"), "not a valid host"},
		{"email no server", ep(TypeEmail, ParamEmailSender, from, ParamEmailRecipient, to), "server is missing"},
		{"email server port", ep(TypeEmail, ParamSMTPServer, "mail:99999", ParamEmailSender, from, ParamEmailRecipient, to), "out of range"},
		{"email server scheme", ep(TypeEmail, ParamSMTPServer, "http://mail", ParamEmailSender, from, ParamEmailRecipient, to), `scheme "http"`},
		{"email server path", ep(TypeEmail, ParamSMTPServer, "smtp://mail/x", ParamEmailSender, from, ParamEmailRecipient, to), "more than a host"},
		{"email no sender", ep(TypeEmail, ParamSMTPServer, "mail", ParamEmailRecipient, to), "email_sender is missing"},
		{"email bad sender", ep(TypeEmail, ParamSMTPServer, "mail", ParamEmailSender, "not an address", ParamEmailRecipient, to), "email_sender"},
		{"email no recipient", ep(TypeEmail, ParamSMTPServer, "mail", ParamEmailSender, from), "email_recipient is missing"},
		{"email bad recipient", ep(TypeEmail, ParamSMTPServer, "mail", ParamEmailSender, from, ParamEmailRecipient, "a@example.com,,b"), "email_recipient"},
		{"email password alone", ep(TypeEmail, ParamSMTPServer, "mail", ParamEmailSender, from, ParamEmailRecipient, to, ParamSMTPPassword, "p"), "smtp_password is set without smtp_username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.ep.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.wantErr)
			}
			if !badinput.Is(err) {
				t.Errorf("%v is not marked as bad input", err)
			}
		})
	}
}

func TestRecipientValidate(t *testing.T) {
	for _, tc := range []struct {
		r       Recipient
		wantErr string
	}{
		{Recipient{ID: 0, Name: "r", EndpointID: 0}, ""},
		{Recipient{ID: 1, Name: "r", MinSeverity: 8, Entities: []string{"interface", "host", "network", "snmp_device", "flow", "mac", "user", "am_host", "system"}, HostPools: []int{0, 4}}, ""},
		{Recipient{ID: -1, Name: "r"}, "id is negative"},
		{Recipient{ID: 1}, "name is empty"},
		{Recipient{ID: 1, Name: "r", EndpointID: -2}, "endpoint id -2 is negative"},
		{Recipient{ID: 1, Name: "r", MinSeverity: 9}, "minimum severity 9 is out of range 0-8"},
		{Recipient{ID: 1, Name: "r", MinSeverity: -1}, "out of range"},
		{Recipient{ID: 1, Name: "r", Entities: []string{"host", "hosts"}}, `unknown entity "hosts"`},
		{Recipient{ID: 1, Name: "r", HostPools: []int{-1}}, "host pool id -1 is negative"},
	} {
		err := tc.r.Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%+v: %v", tc.r, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !badinput.Is(err)):
			t.Errorf("%+v: Validate = %v, want bad input containing %q", tc.r, err, tc.wantErr)
		}
	}
}

// The JSON shape is what the lead persists and exports: check the field
// names against a literal, and that values survive a round trip.
func TestJSON(t *testing.T) {
	for _, tc := range []struct {
		lit string
		v   any
	}{
		{`{"endpoint_id":3,"endpoint_conf_name":"SOC","endpoint_key":"webhook","endpoint_conf":{"webhook_sharedsecret":"s","webhook_url":"https://x/y"}}`,
			&Endpoint{ID: 3, Name: "SOC", Type: TypeWebhook, Conf: map[string]string{ParamWebhookURL: "https://x/y", ParamWebhookSharedSecret: "s"}}},
		{`{"endpoint_id":0,"endpoint_conf_name":"","endpoint_key":"","endpoint_conf":null}`, &Endpoint{}},
		{`{"recipient_id":2,"recipient_name":"ops","endpoint_id":3,"minimum_severity":4,"recipient_entities":["host","flow"],"recipient_host_pools":[0,7]}`,
			&Recipient{ID: 2, Name: "ops", EndpointID: 3, MinSeverity: 4, Entities: []string{"host", "flow"}, HostPools: []int{0, 7}}},
		{`{"recipient_id":0,"recipient_name":"","endpoint_id":0,"minimum_severity":0,"recipient_entities":[],"recipient_host_pools":null}`,
			&Recipient{Entities: []string{}}},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil || string(b) != tc.lit {
			t.Errorf("Marshal = %s, %v; want %s", b, err, tc.lit)
		}
		back := reflect.New(reflect.TypeOf(tc.v).Elem()).Interface()
		if err := json.Unmarshal([]byte(tc.lit), back); err != nil || !reflect.DeepEqual(back, tc.v) {
			t.Errorf("Unmarshal(%s) = %+v, %v", tc.lit, back, err)
		}
	}
}

// FuzzEndpointJSON: no input makes decoding or Validate panic, and what
// validates also builds a sender and survives a JSON round trip.
func FuzzEndpointJSON(f *testing.F) {
	f.Add([]byte(`{"endpoint_id":1,"endpoint_conf_name":"w","endpoint_key":"webhook","endpoint_conf":{"webhook_url":"https://h/x","webhook_headers":"A: b\nC: d"}}`))
	f.Add([]byte(`{"endpoint_id":2,"endpoint_conf_name":"s","endpoint_key":"syslog","endpoint_conf":{"syslog_host":"::1","syslog_port":"514","syslog_protocol":"tcp","syslog_facility":"7"}}`))
	f.Add([]byte(`{"endpoint_id":3,"endpoint_conf_name":"m","endpoint_key":"email","endpoint_conf":{"smtp_server":"smtps://[::1]:465","email_sender":"a@b","email_recipient":"c@d, E <e@f>"}}`))
	f.Add([]byte(`{"endpoint_id":-1,"endpoint_key":"email","endpoint_conf":{"smtp_server":"[::1"}}`))
	f.Add([]byte(`{"endpoint_conf":{"webhook_url":"http://%zz"}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"endpoint_id":1e99}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ep Endpoint
		if json.Unmarshal(data, &ep) != nil {
			return
		}
		c, err := parseEndpoint(ep)
		if (err == nil) != (ep.Validate() == nil) {
			t.Fatal("Validate and parseEndpoint disagree")
		}
		if err != nil {
			if !badinput.Is(err) {
				t.Fatalf("%v is not marked as bad input", err)
			}
			return
		}
		if c.newSender(&env{}) == nil {
			t.Fatal("no sender for a valid endpoint")
		}
		b, err := json.Marshal(ep)
		if err != nil {
			t.Fatal(err)
		}
		var back Endpoint
		if err := json.Unmarshal(b, &back); err != nil || back.Validate() != nil {
			t.Fatalf("round trip of %s: %v", b, err)
		}
	})
}
