using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using OpenQA.Selenium;
using Shouldly;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>
/// The browser tracker (clients/tracker/tally-tracker.js) in a real headless Chromium (Debian's chromium and
/// chromium-driver, installed by deploy/local/test) against the running API. The page is served from one origin; its
/// events go through a proxy on another origin in front of the API, which can lose the answer to a batch the API
/// stored: the tracker retries with the same event ids and the log holds each event exactly once.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class TrackerBrowserTests(ApiFixture fixture) : ApiTestBase(fixture), IAsyncLifetime
{
    private WebApplication? _site;
    private LossyProxy? _proxy;
    private string _siteUrl = "";
    private string _proxyUrl = "";

    private const string Page = """
        <!doctype html><html><head><title>Tracker test</title></head><body>
        <button id="buy">Buy</button>
        <script src="/tally-tracker.js"></script>
        <script>
          var q = new URLSearchParams(location.search);
          window.errors = [];
          var offset = Number(q.get("offset")); // the fixture's clock is not the machine's
          window.tally = TallyTracker.init({ endpoint: q.get("endpoint"), key: q.get("key"), siteId: q.get("site"),
            now: function () { return Date.now() + offset; },
            flushSeconds: Number(q.get("flush")), batchSize: 50, retryBaseMs: 200,
            onError: function (e) { window.errors.push(e); } });
          window.ids = q.get("events") === "3"
            ? [tally.page(), tally.track("click", { target: "#buy" }), tally.track("scroll", { depth: 0.75 })]
            : [tally.track("scroll", { depth: 1 })];
        </script></body></html>
        """;

    public async Task InitializeAsync()
    {
        var root = Repository.Root;
        var trackerJs = await File.ReadAllTextAsync(Path.Combine(root, "clients", "tracker", "tally-tracker.js"));

        var site = WebApplication.CreateSlimBuilder();
        site.WebHost.UseUrls("http://127.0.0.1:0");
        _site = site.Build();
        _site.MapGet("/page.html", () => Results.Content(Page, "text/html"));
        _site.MapGet("/tally-tracker.js", () => Results.Content(trackerJs, "text/javascript"));
        await _site.StartAsync();
        _siteUrl = _site.Urls.First();

        // Batches go through a proxy on another origin, which can lose the API's answer to a batch it stored.
        _proxy = await new LossyProxy(Fixture.Http).StartAsync();
        _proxyUrl = _proxy.Url;
    }

    public async Task DisposeAsync()
    {
        if (_site is not null) await _site.DisposeAsync();
        if (_proxy is not null) await _proxy.DisposeAsync();
    }

    private async Task<(TestTenant Tenant, string CollectKey)> TenantAsync()
    {
        var t = await Fixture.CreateTenantAsync(new JsonObject
        {
            ["time_zone"] = "UTC",
            ["measures"] = new JsonObject { ["events"] = new JsonObject { ["min"] = 0 } },
            ["dimensions"] = new JsonArray("event_type", "site_id"),
            ["collect"] = new JsonObject { ["allowed_origins"] = new JsonArray(_siteUrl), ["ip"] = "none" },
        });
        var response = await Fixture.Send(HttpMethod.Post, $"/v1/tenants/{t.Id}/keys", ApiFixture.AdminKey, new JsonObject { ["role"] = "collect" });
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        return (t, (string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["key"]!);
    }

    private string PageUrl(string key, int events, double flushSeconds, string site) =>
        $"{_siteUrl}/page.html?endpoint={Uri.EscapeDataString(_proxyUrl)}&key={Uri.EscapeDataString(key)}&events={events}&flush={flushSeconds}&site={site}"
        + $"&offset={(long)(Fixture.Clock.GetUtcNow() - DateTimeOffset.UtcNow).TotalMilliseconds}";

    private async Task<List<(string EventId, string Type, string? Session, string? Visitor, string Site)>> LoggedAsync(string tenant)
    {
        var rows = new List<(string, string, string?, string?, string)>();
        await using var cmd = Fixture.Db.DataSource.CreateCommand("""
            SELECT idempotency_key, action, payload ->> 'session_id', payload ->> 'visitor_id', payload ->> 'site_id'
              FROM user_action_events WHERE tenant_id = $1 ORDER BY event_id
            """);
        cmd.Parameters.Add(new() { Value = tenant });
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            rows.Add((reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4)));
        return rows;
    }

    [Fact]
    public async Task a_page_sends_a_batch_retries_it_after_a_lost_answer_and_each_event_is_logged_once()
    {
        var (t, key) = await TenantAsync();
        _proxy!.LoseAnswers = 1;
        using var browser = HeadlessChromium.Start();
        browser.Navigate().GoToUrl(PageUrl(key, events: 3, flushSeconds: 0.3, site: "shop-a"));
        var ids = ((IReadOnlyCollection<object>)browser.ExecuteScript("return window.ids")!).Select(x => (string)x).ToList();
        ids.Count.ShouldBe(3);
        ids.All(id => Guid.TryParse(id, out var _)).ShouldBeTrue("event ids are UUIDs made in the page");

        // The first batch reaches the API, its answer is lost (503), the tracker sends it again.
        await Eventually.WaitFor(() => Task.FromResult(Convert.ToInt64(browser.ExecuteScript("return window.tally.sent"))), sent => sent >= 1,
            TimeSpan.FromSeconds(30), "the tracker to have a batch acknowledged");
        var batches = _proxy.PostBodies.Select(b => JsonNode.Parse(b)!.AsObject()).ToList();
        batches.Count.ShouldBeGreaterThanOrEqualTo(2, "the lost batch and its retry");
        batches[0]["eventType"]!.GetValue<string>().ShouldBe("batch");
        IdsOf(batches[0]).ShouldBe(ids, "the first attempt carries the page's ids");
        IdsOf(batches[1]).ShouldBe(ids, "the retry carries the same ids");
        var errors = (string)browser.ExecuteScript("return JSON.stringify(window.errors)")!;
        JsonNode.Parse(errors)!.AsArray().Count.ShouldBe(1, "one retry reported, nothing refused: " + errors + " seen: " + string.Join(" | ", batches.Select(b => b.ToJsonString())));

        var logged = await LoggedAsync(t.Id);
        logged.Select(r => r.EventId).ShouldBe(ids, ignoreOrder: true, "each event exactly once after the retry");
        logged.Select(r => r.Type).ShouldBe(["page_view", "click", "scroll"], ignoreOrder: true);
        logged.Select(r => r.Session).Distinct().Single().ShouldNotBeNullOrEmpty("one session for the page's events");
        logged.Select(r => r.Visitor).Distinct().Single().ShouldNotBeNullOrEmpty();
        logged.ShouldAllBe(r => r.Site == "shop-a");
    }

    [Fact]
    public async Task events_still_queued_when_the_page_goes_away_are_sent_on_page_hide()
    {
        var (t, key) = await TenantAsync();
        _proxy!.LoseAnswers = 0;
        using var browser = HeadlessChromium.Start();
        // No timer flush for an hour and one event, below the batch size: only leaving the page sends it.
        browser.Navigate().GoToUrl(PageUrl(key, events: 1, flushSeconds: 3600, site: "shop-b"));
        var id = (string)((IReadOnlyCollection<object>)browser.ExecuteScript("return window.ids")!).Single();
        (await LoggedAsync(t.Id)).ShouldBeEmpty("nothing is sent before the page is hidden");

        browser.Navigate().GoToUrl("about:blank");

        var logged = await Eventually.WaitFor(() => LoggedAsync(t.Id), rows => rows.Count > 0, TimeSpan.FromSeconds(30), "the page-hide batch in the log");
        logged.Single().EventId.ShouldBe(id);
    }

    private static List<string> IdsOf(JsonObject batch) => batch["events"]!.AsArray().Select(e => e!["event_id"]!.GetValue<string>()).ToList();
}
