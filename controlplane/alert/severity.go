package alert

// Severity is ntopng's alert severity (alert_severities.lua).
type Severity int

const (
	SeverityNone      Severity = 0
	SeverityDebug     Severity = 1
	SeverityInfo      Severity = 2
	SeverityNotice    Severity = 3
	SeverityWarning   Severity = 4
	SeverityError     Severity = 5
	SeverityCritical  Severity = 6
	SeverityEmergency Severity = 8
)

type sevInfo struct {
	name, title, icon, color string
	syslog                   int
}

var severities = map[Severity]sevInfo{
	SeverityNone:      {"none", "None", "fa-info-circle text-info", "#1f8fd6", 7},
	SeverityDebug:     {"debug", "Debug", "fa-bug text-info", "#a8e4ef", 7},
	SeverityInfo:      {"info", "Info", "fa-info-circle text-info", "#1f8fd6", 6},
	SeverityNotice:    {"notice", "Notice", "fa-info-circle text-info", "#5cd65c", 5},
	SeverityWarning:   {"warning", "Warning", "fa-exclamation-triangle text-warning", "#ffc007", 4},
	SeverityError:     {"error", "Error", "fa-exclamation-triangle text-danger", "#ff3231", 3},
	SeverityCritical:  {"critical", "Critical", "fa-exclamation-triangle text-danger", "#a30000", 2},
	SeverityEmergency: {"emergency", "Emergency", "fa-bomb text-danger", "#ff0000", 0},
}

// Severities lists the defined severities in ascending order.
func Severities() []Severity {
	return []Severity{SeverityNone, SeverityDebug, SeverityInfo, SeverityNotice, SeverityWarning, SeverityError, SeverityCritical, SeverityEmergency}
}

// Valid tells a defined severity.
func (s Severity) Valid() bool { _, ok := severities[s]; return ok }

// Name is the lowercase name ("error").
func (s Severity) Name() string { return severities[s].name }

// Title is the capitalised name ("Error").
func (s Severity) Title() string { return severities[s].title }

// Color is the web UI's colour of the severity.
func (s Severity) Color() string { return severities[s].color }

// Icon is the font-awesome classes the web UI draws the severity with.
func (s Severity) Icon() string { return severities[s].icon }

// Syslog is the RFC 5424 severity the severity maps to.
func (s Severity) Syslog() int { return severities[s].syslog }

// ParseSeverity accepts a name or a number.
func ParseSeverity(v string) (Severity, bool) {
	for s, i := range severities {
		if i.name == v {
			return s, true
		}
	}
	n := 0
	if v == "" {
		return 0, false
	}
	for _, c := range v {
		if c < '0' || c > '9' || n > 100 {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	s := Severity(n)
	return s, s.Valid()
}

// Score levels of ntopng (ntop_defines.h SCORE_LEVEL_*): a check's score
// decides the severity of its alert.
const (
	ScoreNotice  = 10
	ScoreWarning = 50
	ScoreError   = 100
	ScoreSevere  = 150
)

// SeverityForScore is ntopng's Utils::mapScoreToSeverity.
func SeverityForScore(score int) Severity {
	switch {
	case score < ScoreNotice:
		return SeverityInfo
	case score < ScoreWarning:
		return SeverityNotice
	case score < ScoreError:
		return SeverityWarning
	case score < ScoreSevere:
		return SeverityError
	}
	return SeverityCritical
}
