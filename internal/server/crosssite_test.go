package server_test

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/counterspy/counterspy/internal/server"
	"github.com/counterspy/counterspy/internal/testenv"
)

// forgeryPage is what a malicious site would serve: fetches in no-cors mode
// and plain HTML forms (neither needs a CORS preflight) that try to create,
// update and delete groups on the Counterspy server at .Target.
var forgeryPage = template.Must(template.New("page").Parse(`<!doctype html>
<html><body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<form id="f1" method="POST" action="{{.Target}}/CreateGroup" enctype="text/plain" target="sink1">
<input name='{"GroupName":"formforged","FilterExpression":"fault","pad":"' value='"}'>
</form>
<form id="f2" method="POST" action="{{.Target}}/DeleteGroup" target="sink2">
<input name="GroupName" value="kept">
</form>
<script>
const target = {{.Target}};
const report = [];
async function forge(path, body, type) {
  try {
    await fetch(target + path, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': type }, body });
    report.push(path + ': sent');
  } catch (e) {
    report.push(path + ': ' + e.message);
  }
}
window.addEventListener('load', async () => {
  await forge('/CreateGroup', JSON.stringify({ GroupName: 'fetchforged', FilterExpression: 'fault' }), 'text/plain');
  await forge('/UpdateGroup', JSON.stringify({ GroupName: 'kept', FilterExpression: 'error' }), 'application/x-www-form-urlencoded');
  await forge('/DeleteGroup', JSON.stringify({ GroupName: 'kept' }), 'text/plain');
  let loaded = 0;
  const finished = new Promise((resolve) => {
    for (const name of ['sink1', 'sink2']) {
      document.querySelector('iframe[name=' + name + ']').addEventListener('load', () => {
        if (++loaded === 2) resolve();
      });
    }
  });
  document.getElementById('f1').submit();
  document.getElementById('f2').submit();
  await finished;
  report.push('forms: answered');
  window.__report = report.join('; ');
  window.__done = true;
});
</script>
</body></html>`))

// TestCrossSiteInBrowser: pages on other origins (a local server on another
// port, reached as 127.0.0.1 and as localhost) try to create, update and
// delete groups from real Chromium with fetch and with forms. Every attempt
// reaches the server and is refused; the groups are as they were.
func TestCrossSiteInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	chromium := testenv.Chromium(t)
	node := testenv.Node(t)
	web, err := filepath.Abs(filepath.Join("..", "..", "web"))
	if err != nil {
		t.Fatal(err)
	}
	testenv.NodeModule(t, web, "playwright-core")

	srv := startServerWith(t, server.Config{})
	xc := xrayClient(srv)
	ctx := context.Background()
	if _, err := xc.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("kept"), FilterExpression: aws.String("fault")}); err != nil {
		t.Fatal(err)
	}

	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		forgeryPage.Execute(w, struct{ Target string }{"http://" + srv.HTTPAddr()})
	}))
	defer evil.Close()
	_, port, _ := net.SplitHostPort(evil.Listener.Addr().String())
	pages := []string{
		"http://127.0.0.1:" + port + "/", // same site (another port): Sec-Fetch-Site: same-site
		"http://localhost:" + port + "/", // another site: cross-site
	}

	script, err := filepath.Abs(filepath.Join("testdata", "crosssite.e2e.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(runCtx, node, script)
	cmd.Env = append(os.Environ(), "WEB_DIR="+web, "CHROMIUM="+chromium, "PAGES="+strings.Join(pages, ","))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Logf("browser:\n%s", out.String())
	if err != nil {
		t.Fatalf("browser run failed: %v", err)
	}

	// Every forged request reached the server and was refused: 3 fetches
	// and 2 forms per page. (Counting them keeps the test honest: a browser
	// that sent nothing would change nothing too.)
	refused := 0
	for _, m := range regexp.MustCompile(`counterspy_http_requests_refused_total\{reason="[^"]+"\} (\d+)`).FindAllStringSubmatch(metricsText(t, srv), -1) {
		n, _ := strconv.Atoi(m[1])
		refused += n
	}
	if want := 5 * len(pages); refused != want {
		t.Errorf("%d requests refused; want %d (every forged one)", refused, want)
	}
	groups, err := xc.GetGroups(ctx, &awsxray.GetGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups.Groups {
		names = append(names, fmt.Sprintf("%s=%s", aws.ToString(g.GroupName), aws.ToString(g.FilterExpression)))
	}
	if strings.Join(names, ",") != "Default=,kept=fault" {
		t.Errorf("groups after the forged requests: %v; want Default and kept=fault only", names)
	}
}
