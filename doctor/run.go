package doctor

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/scimsync/scimsync/scim"
	"github.com/scimsync/scimsync/tenant"
)

// Run checks the server of opts.Target and returns one Check per row, in
// the order of the Check* constants. Once a check fails that the others
// need (the host does not resolve, nothing listens, TLS fails, the token is
// refused), the rest are Skipped. err is set only when there is nothing to
// check: a target without a URL.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Target.URL == "" {
		return nil, errors.New("checking the target: doctor checks a SCIM server, named by target.url; target.file is a snapshot")
	}
	opts.Timeout = cmp.Or(opts.Timeout, DefaultTimeout)
	opts.MaxSkew = cmp.Or(opts.MaxSkew, DefaultMaxSkew)
	opts.Slow = cmp.Or(opts.Slow, DefaultSlow)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &run{opts: opts, rep: &Report{URL: opts.Target.URL}}
	r.u, _ = url.Parse(strings.TrimSpace(opts.Target.URL))
	steps := []func(context.Context){
		r.checkDNS, r.checkConnection, r.checkTLS, r.checkAuth,
		r.checkSPC, r.checkResourceTypes, r.checkSchemas, r.checkOrgs,
		r.checkPageSize, r.checkFilters, r.checkETags, r.checkClock, r.checkLatency,
	}
	names := []string{CheckDNS, CheckConnection, CheckTLS, CheckAuth, CheckSPC, CheckResourceType, CheckSchemas,
		CheckOrgExtension, CheckPageSize, CheckFilters, CheckETags, CheckClock, CheckLatency}
	for i, step := range steps {
		if r.blocked != "" {
			r.add(names[i], Skipped, "not checked: "+r.blocked, "")
			continue
		}
		if err := ctx.Err(); err != nil {
			r.blocked = err.Error()
			r.add(names[i], Skipped, "not checked: "+r.blocked, "")
			continue
		}
		step(ctx)
	}
	return r.rep, nil
}

type run struct {
	opts    Options
	u       *url.URL
	rep     *Report
	blocked string // why the remaining checks do not run

	proxy  *url.URL // the proxy requests go through, if any
	c      *scim.Client
	client scim.Config // as the client was made

	times    []time.Duration // of every probe
	date     string          // the Date header of the first answer
	dateSeen time.Time       // this machine's clock when it came

	userName  string // a user's, a group's displayName, a child org's id
	groupName string
	childOrg  string
	orgs      []scim.Organization
	hasOrgs   bool
}

func (r *run) add(name string, s Status, detail, fix string) {
	r.rep.Checks = append(r.rep.Checks, Check{Name: name, Status: s, Detail: detail, Fix: fix})
}

// fail adds a failed check and stops the checks that need it.
func (r *run) fail(name, detail, fix string) {
	r.add(name, Fail, detail, fix)
	r.blocked = "the " + name + " check failed"
}

func (r *run) hostPort() string {
	if port := r.u.Port(); port != "" {
		return r.u.Host
	}
	if r.u.Scheme == "http" {
		return net.JoinHostPort(r.u.Hostname(), "80")
	}
	return net.JoinHostPort(r.u.Hostname(), "443")
}

func (r *run) checkDNS(ctx context.Context) {
	if r.u == nil || r.u.Host == "" || (r.u.Scheme != "https" && r.u.Scheme != "http") {
		r.fail(CheckDNS, fmt.Sprintf("target.url %q is not an http(s) URL with a host", r.opts.Target.URL),
			"set target.url to the SCIM base URL, such as https://scim.example.gov/scim/v2")
		return
	}
	if p, err := http.ProxyFromEnvironment(&http.Request{URL: r.u}); err == nil && p != nil {
		r.proxy = p
		r.add(CheckDNS, OK, "requests go through the proxy "+p.Redacted()+" (HTTPS_PROXY, HTTP_PROXY), which resolves "+r.u.Hostname(), "")
		return
	}
	host := r.u.Hostname()
	if net.ParseIP(host) != nil {
		r.add(CheckDNS, OK, host+" is an IP address: nothing to resolve", "")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		r.fail(CheckDNS, "resolving "+host+": "+err.Error(), scim.TransportFix(&net.DNSError{Err: err.Error(), Name: host}, r.u.Host))
		return
	}
	shown := addrs
	if len(shown) > 3 {
		shown = append(slices.Clone(shown[:3]), "…")
	}
	r.add(CheckDNS, OK, host+" resolves to "+strings.Join(shown, ", "), "")
}

func (r *run) checkConnection(ctx context.Context) {
	if r.proxy != nil {
		r.add(CheckConnection, OK, "through the proxy "+r.proxy.Host+": checked by the requests below", "")
		return
	}
	hp := r.hostPort()
	start := time.Now()
	d := net.Dialer{Timeout: r.opts.Timeout}
	conn, err := d.DialContext(ctx, "tcp", hp)
	if err != nil {
		fix := scim.TransportFix(err, hp)
		var ne net.Error
		if fix == "" && errors.As(err, &ne) && ne.Timeout() {
			fix = "nothing answered within " + r.opts.Timeout.String() + ": check the host and port of target.url, and the firewall, VPN or proxy settings"
		}
		r.fail(CheckConnection, "connecting to "+hp+": "+err.Error(), fix)
		return
	}
	conn.Close()
	r.add(CheckConnection, OK, fmt.Sprintf("%s accepts connections (%s)", hp, roundDur(time.Since(start))), "")
}

func (r *run) checkTLS(ctx context.Context) {
	if r.u.Scheme == "http" {
		r.add(CheckTLS, OK, "plain http to a loopback host: no TLS (any other host needs https)", "")
		return
	}
	if r.proxy != nil {
		// Checked on the first answer instead (checkAuth).
		return
	}
	cfg, err := scim.TLSConfig(r.opts.Target.CAFile, r.opts.Insecure)
	if err != nil {
		r.fail(CheckTLS, err.Error(), "target.caFile must name a readable PEM file of CA certificates")
		return
	}
	cfg.ServerName = r.u.Hostname()
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	d := tls.Dialer{Config: cfg, NetDialer: &net.Dialer{Timeout: r.opts.Timeout}}
	conn, err := d.DialContext(ctx, "tcp", r.hostPort())
	if err != nil {
		fix := scim.TransportFix(err, r.hostPort())
		if fix == "" {
			fix = "check that " + r.hostPort() + " serves HTTPS"
		}
		r.fail(CheckTLS, "TLS handshake with "+r.hostPort()+": "+err.Error(), fix)
		return
	}
	state := conn.(*tls.Conn).ConnectionState()
	conn.Close()
	r.tlsCheck(&state)
}

// tlsCheck adds the TLS row for a handshake's state.
func (r *run) tlsCheck(state *tls.ConnectionState) {
	version := tls.VersionName(state.Version)
	if len(state.VerifiedChains) == 0 || len(state.VerifiedChains[0]) == 0 {
		r.add(CheckTLS, Warn, version+"; the certificate is not verified (--insecure-skip-tls-verify)",
			"name the CA that issued the server's certificate in target.caFile, and drop --insecure-skip-tls-verify")
		return
	}
	chain := state.VerifiedChains[0]
	leaf, root := chain[0], chain[len(chain)-1]
	subject := leaf.Subject.CommonName
	if len(leaf.DNSNames) > 0 {
		subject = leaf.DNSNames[0]
	} else if len(leaf.IPAddresses) > 0 {
		subject = leaf.IPAddresses[0].String()
	}
	issuer := cmp.Or(root.Subject.CommonName, strings.Join(root.Subject.Organization, " "), root.Subject.String())
	left := leaf.NotAfter.Sub(r.opts.Now())
	detail := fmt.Sprintf("%s; certificate for %s verified up to %s, valid until %s", version, subject, issuer, leaf.NotAfter.UTC().Format(time.DateOnly))
	if left < 14*24*time.Hour {
		r.add(CheckTLS, Warn, detail+fmt.Sprintf(" (%d days left)", int(left.Hours()/24)), "the server's certificate expires soon: tell the server's operator")
		return
	}
	r.add(CheckTLS, OK, detail, "")
}

func (r *run) checkAuth(ctx context.Context) {
	token, _, err := tenant.ReadToken(r.opts.Target, tenant.OpenOptions{Getenv: r.opts.Getenv})
	if err != nil {
		r.fail(CheckAuth, err.Error(), "")
		return
	}
	cfg := r.opts.Client
	cfg.BaseURL = r.opts.Target.URL
	cfg.Token = token
	cfg.CAFile = r.opts.Target.CAFile
	cfg.InsecureSkipTLSVerify = r.opts.Insecure
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 2
	}
	cfg.MaxRetryWait = cmp.Or(cfg.MaxRetryWait, 10*time.Second)
	cfg.RetryWaitMax = cmp.Or(cfg.RetryWaitMax, 2*time.Second)
	cfg.RequestTimeout = cmp.Or(cfg.RequestTimeout, time.Minute)
	r.client = cfg
	if r.c, err = scim.New(cfg); err != nil {
		r.fail(CheckAuth, err.Error(), "")
		return
	}
	var users scim.ListResponse[scim.User]
	p, err := r.probeList(ctx, "/Users", url.Values{"startIndex": {"1"}, "count": {"1"}}, &users)
	if r.proxy != nil && r.u.Scheme == "https" && p != nil && p.TLS != nil {
		r.tlsCheck(p.TLS) // checkTLS left it to the first answer
	}
	if err != nil {
		detail, fix := split(err)
		r.fail(CheckAuth, detail, fix)
		return
	}
	if len(users.Resources) > 0 {
		r.userName = users.Resources[0].UserName
	}
	source := cmp.Or(cfg.TokenSource, "the token")
	r.add(CheckAuth, OK, fmt.Sprintf("%s is accepted: GET /Users answered %d", source, p.Status), "")
}

// probe sends one GET and keeps its time, and the first Date header.
func (r *run) probe(ctx context.Context, endpoint string, q url.Values, h http.Header) (*scim.ProbeResult, error) {
	p, err := r.c.Probe(ctx, endpoint, q, h)
	if err != nil {
		return nil, err
	}
	r.times = append(r.times, p.Duration)
	if r.date == "" {
		r.date, r.dateSeen = p.Header.Get("Date"), r.opts.Now()
	}
	return p, nil
}

// probeList GETs a list response into v.
func (r *run) probeList(ctx context.Context, endpoint string, q url.Values, v any) (*scim.ProbeResult, error) {
	p, err := r.probe(ctx, endpoint, q, nil)
	if err != nil {
		return nil, err
	}
	if err := decode(p.Body, v); err != nil {
		return p, fmt.Errorf("GET %s: %w", endpoint, err)
	}
	return p, nil
}

// split parts a client error into what happened and, for a
// *scim.TargetError, the fix it names.
func split(err error) (detail, fix string) {
	var te *scim.TargetError
	msg := err.Error()
	if errors.As(err, &te) && te.Fix != "" {
		return strings.TrimSuffix(msg, "; "+te.Fix), te.Fix
	}
	return msg, ""
}

// decode decodes a JSON body as encoding/json does: SCIM names match
// case-insensitively.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	return nil
}

func (r *run) checkSPC(ctx context.Context) {
	spc, err := r.c.ServiceProviderConfig(ctx)
	if err != nil {
		r.add(CheckSPC, Warn, err.Error(), "scimsync reads it as a hint only; the other checks tell what the server does")
		return
	}
	yes := func(b scim.Bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	detail := fmt.Sprintf("patch %s, filter %s", yes(spc.Patch.Supported), yes(spc.Filter.Supported))
	if spc.Filter.MaxResults > 0 {
		detail += fmt.Sprintf(" (up to %d results)", spc.Filter.MaxResults)
	}
	detail += ", etag " + yes(spc.ETag.Supported)
	if !spc.Patch.Supported {
		r.add(CheckSPC, Warn, detail, "scimsync writes organizations with PATCH; the server says it does not support it (servers misreport: see the checks below)")
		return
	}
	r.add(CheckSPC, OK, detail, "")
}

func (r *run) checkResourceTypes(ctx context.Context) {
	rts, err := r.c.ResourceTypes(ctx)
	if err != nil {
		r.add(CheckResourceType, Warn, err.Error(), "scimsync looks for /Organizations directly; other checks tell what the server has")
		return
	}
	var names []string
	for _, rt := range rts {
		names = append(names, cmp.Or(rt.Name, rt.ID, rt.Endpoint))
	}
	slices.Sort(names)
	r.add(CheckResourceType, OK, fmt.Sprintf("%d resource types: %s", len(rts), strings.Join(names, ", ")), "")
}

func (r *run) checkSchemas(ctx context.Context) {
	schemas, err := r.c.Schemas(ctx)
	if err != nil {
		r.add(CheckSchemas, Warn, err.Error(), "scimsync does not need /Schemas; other checks tell what the server has")
		return
	}
	has := map[string]bool{}
	for _, s := range schemas {
		has[strings.ToLower(s.ID)] = true
	}
	ext := "neither the Organization nor the Member schema of the organization extension"
	switch org, mem := has[strings.ToLower(scim.SchemaOrganization)], has[strings.ToLower(scim.SchemaMember)]; {
	case org && mem:
		ext = "the organization extension's Organization and Member schemas"
	case org:
		ext = "the Organization schema but not the Member schema"
	case mem:
		ext = "the Member schema but not the Organization schema"
	}
	r.add(CheckSchemas, OK, fmt.Sprintf("%d schemas, with %s", len(schemas), ext), "")
}

// readMembersCSV reads a members export as plan reads it.
func readMembersCSV(path string) ([]tenant.MemberRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := tenant.ParseMembersCSV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, nil
}

func (r *run) checkOrgs(ctx context.Context) {
	orgs, err := r.c.ListOrganizations(ctx)
	csv := r.opts.Target.MembersCSV != ""
	var se *scim.Error
	switch {
	case err != nil && errors.As(err, &se) && (se.Status == http.StatusNotFound || se.Status == http.StatusNotImplemented):
		if csv {
			rows, err := readMembersCSV(r.opts.Target.MembersCSV)
			if err != nil {
				r.add(CheckOrgExtension, Fail, "absent (/Organizations answered "+fmt.Sprint(se.Status)+"), and target.membersCsv, which holds the members instead, cannot be read: "+err.Error(),
					"export the members again from the admin console (CSV with email, role, seat tier and org columns) and point target.membersCsv at it")
				return
			}
			r.add(CheckOrgExtension, OK, fmt.Sprintf("absent (/Organizations answered %d): the members come from target.membersCsv (%d %s), and plan works; apply refuses, having nothing to write",
				se.Status, len(rows), map[bool]string{true: "row", false: "rows"}[len(rows) == 1]), "")
			return
		}
		r.add(CheckOrgExtension, Fail, "absent: /Organizations answered "+fmt.Sprint(se.Status)+"; this server has only the standard /Users and /Groups",
			"export the members from the admin console as CSV, set target.membersCsv to it and describe the organizations in the spec's current: block: plan then works, apply does not")
		return
	case err != nil:
		detail, fix := split(err)
		r.add(CheckOrgExtension, Fail, detail, fix)
		return
	}
	r.hasOrgs = true
	r.orgs = orgs
	parents, children := 0, 0
	for _, o := range orgs {
		if o.Parent == "" {
			parents++
		} else {
			children++
			if r.childOrg == "" {
				r.childOrg = o.ID
			}
		}
	}
	detail := fmt.Sprintf("/Organizations lists %d parent and %d child organizations", parents, children)
	switch {
	case parents != 1:
		r.add(CheckOrgExtension, Fail, detail, "a tenant has exactly one parent organization: ask the server's operator")
	case csv:
		r.add(CheckOrgExtension, Warn, detail+"; target.membersCsv is set all the same",
			"remove target.membersCsv (and current:) to read the members from the server and to be able to apply")
	default:
		r.add(CheckOrgExtension, OK, detail, "")
	}
}

func (r *run) checkPageSize(ctx context.Context) {
	var l struct {
		TotalResults *int       `json:"totalResults"`
		ItemsPerPage int        `json:"itemsPerPage"`
		Resources    []struct{} `json:"Resources"`
	}
	asked := PageProbe
	_, err := r.probeList(ctx, "/Users", url.Values{"startIndex": {"1"}, "count": {fmt.Sprint(asked)},
		"attributes": {"id"}}, &l)
	var se *scim.Error
	refused := ""
	if errors.As(err, &se) && se.Status == http.StatusBadRequest {
		// As a listing does (scim.FallbackPageSize): a server may refuse
		// a count above its maximum.
		asked = scim.FallbackPageSize
		if _, again := r.probeList(ctx, "/Users", url.Values{"startIndex": {"1"}, "count": {fmt.Sprint(asked)},
			"attributes": {"id"}}, &l); again == nil {
			refused = fmt.Sprintf("the server refused count=%d (%d %s), so scimsync reads %d at a time; ", PageProbe, se.Status, se.Detail, asked)
			err = nil
		}
	}
	if err != nil {
		detail, fix := split(err)
		r.add(CheckPageSize, Fail, detail, fix)
		return
	}
	if l.TotalResults == nil {
		r.add(CheckPageSize, Fail, "GET /Users answered a list without totalResults", "scimsync needs totalResults to know a listing is complete: ask the server's operator")
		return
	}
	got, total := len(l.Resources), *l.TotalResults
	detail := refused + fmt.Sprintf("asked for %d users, got %d of %d", asked, got, total)
	if l.ItemsPerPage > 0 {
		detail += fmt.Sprintf(" (itemsPerPage %d)", l.ItemsPerPage)
	}
	switch {
	case got == 0 && total > 0:
		r.add(CheckPageSize, Fail, detail, "the server returns no users on the first page although it counts some: scimsync refuses such a listing")
	case got < min(asked, total):
		r.add(CheckPageSize, OK, detail+fmt.Sprintf("; the server caps pages at %d, and scimsync reads %d at a time", got, got), "")
	default:
		r.add(CheckPageSize, OK, detail, "")
	}
}

func (r *run) checkFilters(ctx context.Context) {
	type probe struct {
		what, endpoint, attr, value string
		status                      Status // when it fails
		fix                         string
		excluded                    string
	}
	var probes []probe
	if r.childOrg != "" {
		probes = append(probes, probe{what: "organization eq on /Members", endpoint: "/Members", attr: "organization", value: r.childOrg,
			status: Fail, fix: "scimsync reads each organization's members with filter=organization eq \"…\" and refuses a listing that ignores it: the server must support it"})
	}
	if r.groupName == "" {
		var groups scim.ListResponse[scim.Group]
		if _, err := r.probeList(ctx, "/Groups", url.Values{"startIndex": {"1"}, "count": {"1"}, "excludedAttributes": {"members"}}, &groups); err == nil && len(groups.Resources) > 0 {
			r.groupName = groups.Resources[0].DisplayName
		}
	}
	if r.groupName != "" {
		probes = append(probes, probe{what: "displayName eq on /Groups", endpoint: "/Groups", attr: "displayName", value: r.groupName, excluded: "members",
			status: Warn, fix: "scimsync then finds groups by listing them all, which is slower on a large directory"})
	}
	if r.userName != "" {
		probes = append(probes, probe{what: "userName eq on /Users", endpoint: "/Users", attr: "userName", value: r.userName,
			status: Warn, fix: "scimsync lists every user anyway; a tool that looks users up one by one would be slow"})
	}
	if len(probes) == 0 {
		r.add(CheckFilters, OK, "nothing to filter on: the server holds no users, groups or child organizations", "")
		return
	}
	var ok []string
	worst, detail, fix := OK, "", ""
	for _, p := range probes {
		q := url.Values{"filter": {scim.Filter(p.attr, "eq", p.value)}, "startIndex": {"1"}, "count": {"100"}}
		if p.excluded != "" {
			q.Set("excludedAttributes", p.excluded)
		}
		var l struct {
			Resources []map[string]any `json:"Resources"`
		}
		_, err := r.probeList(ctx, p.endpoint, q, &l)
		problem := ""
		switch {
		case err != nil:
			problem = err.Error()
		case len(l.Resources) == 0:
			problem = fmt.Sprintf("%s %q found nothing, though %s is there", p.what, p.value, p.value)
		default:
			for _, res := range l.Resources {
				if v, _ := lookup(res, p.attr).(string); !strings.EqualFold(v, p.value) {
					problem = fmt.Sprintf("%s %q answered %s %q too: the filter is ignored", p.what, p.value, p.attr, v)
					break
				}
			}
		}
		if problem == "" {
			ok = append(ok, p.what)
			continue
		}
		if p.status > worst {
			worst, detail, fix = p.status, problem, p.fix
		}
	}
	if worst == OK {
		r.add(CheckFilters, OK, strings.Join(ok, ", ")+" work", "")
		return
	}
	if len(ok) > 0 {
		detail += "; " + strings.Join(ok, ", ") + " work"
	}
	r.add(CheckFilters, worst, detail, fix)
}

// lookup returns the attribute name of a decoded resource, its name
// compared case-insensitively as SCIM names are.
func lookup(res map[string]any, name string) any {
	if v, ok := res[name]; ok {
		return v
	}
	for k, v := range res {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

func (r *run) checkETags(ctx context.Context) {
	if !r.hasOrgs {
		if r.opts.Target.MembersCSV != "" {
			r.add(CheckETags, OK, "not needed: a members-export target is never written", "")
		} else {
			r.add(CheckETags, Skipped, "not checked: the server has no organization extension", "")
		}
		return
	}
	var missing []string
	for _, o := range r.orgs {
		if o.Meta.Version == "" {
			missing = append(missing, o.Name)
		}
	}
	if len(missing) > 0 {
		r.add(CheckETags, Fail, fmt.Sprintf("%d of %d organizations have no meta.version (%s)", len(missing), len(r.orgs), strings.Join(missing, ", ")),
			"scimsync writes an organization only with If-Match: its meta.version; without one it refuses to write: ask the server's operator")
		return
	}
	if len(r.orgs) == 0 {
		r.add(CheckETags, OK, "no organization to check", "")
		return
	}
	o := r.orgs[0]
	detail := fmt.Sprintf("meta.version on every organization (%s is at %s)", o.Name, o.Meta.Version)
	_, err := r.probe(ctx, "/Organizations/"+url.PathEscape(o.ID), nil, http.Header{"If-None-Match": {o.Meta.Version}})
	var se *scim.Error
	switch {
	case errors.As(err, &se) && se.Status == http.StatusNotModified:
		r.add(CheckETags, OK, detail+"; a read with If-None-Match at that version answered 304", "")
	case err != nil:
		r.add(CheckETags, Warn, detail+"; a read with If-None-Match failed: "+err.Error(),
			"scimsync relies on If-Match when it writes; doctor never writes, so that cannot be checked here")
	default:
		r.add(CheckETags, Warn, detail+"; a read with If-None-Match at that version answered 200, not 304",
			"the server may ignore preconditions; scimsync relies on If-Match when it writes, which doctor cannot check without writing")
	}
}

func (r *run) checkClock(context.Context) {
	if r.date == "" {
		r.add(CheckClock, Warn, "the server sends no Date header: its clock is unknown", "exceptions are judged by date; make sure the server's clock is right")
		return
	}
	t, err := http.ParseTime(r.date)
	if err != nil {
		r.add(CheckClock, Warn, fmt.Sprintf("the server's Date header %q does not parse", r.date), "exceptions are judged by date; make sure the server's clock is right")
		return
	}
	skew := t.Sub(r.dateSeen.Truncate(time.Second))
	abs := skew.Abs()
	var detail string
	switch {
	case abs <= 2*time.Second:
		detail = "the server's clock agrees with this machine's (Date within 2s)"
	case skew > 0:
		detail = fmt.Sprintf("the server's clock is %s ahead of this machine's", roundDur(abs))
	default:
		detail = fmt.Sprintf("the server's clock is %s behind this machine's", roundDur(abs))
	}
	if abs > r.opts.MaxSkew {
		r.add(CheckClock, Warn, detail, fmt.Sprintf("exceptions are judged by date, and beyond %s the server and scimsync may disagree about a lapse on the day it happens: set the clocks right (NTP)", r.opts.MaxSkew))
		return
	}
	r.add(CheckClock, OK, detail, "")
}

func (r *run) checkLatency(context.Context) {
	if len(r.times) == 0 {
		r.add(CheckLatency, Skipped, "not checked: no request succeeded", "")
		return
	}
	ts := slices.Clone(r.times)
	slices.Sort(ts)
	median, slowest := ts[len(ts)/2], ts[len(ts)-1]
	detail := fmt.Sprintf("median %s, slowest %s over %d requests", roundDur(median), roundDur(slowest), len(ts))
	if median > r.opts.Slow {
		r.add(CheckLatency, Warn, detail, "a large tenant will take long to read: raise nothing, but expect plan to be slow")
		return
	}
	r.add(CheckLatency, OK, detail, "")
}

// roundDur rounds a duration for people: ms below a second, else 0.1s.
func roundDur(d time.Duration) time.Duration {
	if d < time.Second {
		return max(d.Round(time.Millisecond), time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
