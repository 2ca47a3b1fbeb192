package console

import (
	"io/fs"
	"strings"
	"testing"
)

func TestPagesEscapeWhatTheyShow(t *testing.T) {
	evil := `"><script>alert(1)</script>`
	for _, c := range []struct {
		name string
		html string
	}{
		{"login", string(LoginPage("/authorize.html", Form{Referer: evil, Error: evil}))},
		{"password", string(PasswordPage("/lua/change_password.lua", Form{Referer: evil, Error: evil, User: evil}))},
	} {
		if strings.Contains(c.html, "<script>") || !strings.Contains(c.html, "&lt;script&gt;") {
			t.Errorf("%s page does not escape its fields:\n%s", c.name, c.html)
		}
		if !strings.Contains(c.html, `<form method="post"`) {
			t.Errorf("%s page has no form", c.name)
		}
	}
}

func TestFilesHoldTheConsole(t *testing.T) {
	for _, name := range []string{"index.html", "app.js", "api.js", "chart.js", "settings.js", "style.css"} {
		if b, err := fs.ReadFile(Files(), name); err != nil || len(b) == 0 {
			t.Errorf("%s: %v (%d bytes)", name, err, len(b))
		}
	}
	// No inline script: the pages' Content-Security-Policy forbids it.
	idx, _ := fs.ReadFile(Files(), "index.html")
	if strings.Contains(string(idx), "<script>") || strings.Contains(string(idx), " onclick=") {
		t.Errorf("index.html has inline script")
	}
}
