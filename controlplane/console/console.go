// Package console is the probe's web console: the login and password pages
// the REST listener renders itself, and the static single-page console
// (plain ES modules, no build step) that talks to the public REST API with
// the session cookie like any other client.
package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
)

//go:embed web
var web embed.FS

//go:embed pages/*.html
var pages embed.FS

var tmpl = template.Must(template.ParseFS(pages, "pages/*.html"))

// Files are the console's static files (index.html, app.js, ...), served
// under Prefix.
func Files() fs.FS {
	sub, err := fs.Sub(web, "web")
	if err != nil {
		panic(fmt.Sprintf("console: embedded files: %v", err)) // fixed at build time
	}
	return sub
}

// Prefix is where the REST listener serves Files.
const Prefix = "/console/"

// Form is what the login and password pages show: where the form goes
// back to after success (a local path) and why the last try failed.
type Form struct {
	Referer string
	Error   string
	User    string // the logged-in user (password page)
}

// LoginPage is the HTML of /lua/login.lua: a form that POSTs user,
// password and referer to action.
func LoginPage(action string, f Form) []byte { return render("login.html", action, f) }

// PasswordPage is the HTML of the forced first-login password change: a
// form that POSTs new_password, confirm_new_password and referer to action.
func PasswordPage(action string, f Form) []byte { return render("password.html", action, f) }

func render(name, action string, f Form) []byte {
	var b bytes.Buffer
	data := struct {
		Action string
		Form
	}{action, f}
	if err := tmpl.ExecuteTemplate(&b, name, data); err != nil {
		// The templates are fixed at build time and their data are
		// strings: an error here is a bug the tests catch.
		panic(fmt.Sprintf("console: rendering %s: %v", name, err))
	}
	return b.Bytes()
}
