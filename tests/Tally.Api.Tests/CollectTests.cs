using System.Net;
using System.Text.Json.Nodes;
using Shouldly;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary><c>POST /v1/collect</c> (API.md, Raw event collection): a tracking script's raw events become events of the
/// tenant, with collect keys that can do nothing else, CORS for the tenant's origins and the sender's IP and user agent
/// kept as the tenant says. The fixture's now is 2025-11-22T12:00Z.</summary>
[Collection(ApiCollection.Name)]
public class CollectTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private static JsonObject Config(string ip = "truncated") => new()
    {
        ["time_zone"] = "UTC",
        ["measures"] = new JsonObject { ["events"] = new JsonObject { ["min"] = 0 } },
        ["dimensions"] = new JsonArray("event_type", "site_id"),
        ["rollups"] = new JsonObject { ["scopes"] = new JsonArray("global", "event_type", "site_id"), ["periods"] = new JsonArray("all_time", "day") },
        ["collect"] = new JsonObject { ["allowed_origins"] = new JsonArray("https://shop.example"), ["ip"] = ip },
    };

    private static JsonObject Raw(string type, string? eventId, string? visitor = "v1", string at = "2025-11-22T11:00:00Z") => new()
    {
        ["eventType"] = type, ["timestamp"] = at, ["event_id"] = eventId, ["visitor_id"] = visitor, ["session_id"] = "s1",
        ["url"] = "https://shop.example/products/42?ref=mail", ["data"] = new JsonObject { ["scroll"] = 0.75 },
    };

    private async Task<string> KeyAsync(string tenant, string role)
    {
        var response = await Fixture.Send(HttpMethod.Post, $"/v1/tenants/{tenant}/keys", ApiFixture.AdminKey, new JsonObject { ["role"] = role });
        response.StatusCode.ShouldBe(HttpStatusCode.Created);
        return (string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["key"]!;
    }

    private async Task<(int Status, JsonObject? Body, HttpResponseMessage Response)> Collect(string? key, JsonNode body, string? query = null,
        Dictionary<string, string>? headers = null, HttpClient? via = null, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/collect" + query)
        {
            Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, contentType),
        };
        if (key is not null) request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        foreach (var (name, value) in headers ?? []) request.Headers.TryAddWithoutValidation(name, value);
        var response = await (via ?? Fixture.Http).SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text) as JsonObject, response);
    }

    [Fact]
    public async Task raw_events_become_events_once_by_event_id_with_the_senders_address_and_agent()
    {
        var t = await Fixture.CreateTenantAsync(Config());
        var collectKey = await KeyAsync(t.Id, "collect");
        var id = Guid.NewGuid().ToString();
        var envelope = new JsonObject { ["eventType"] = "batch", ["events"] = new JsonArray(Raw("page_view", id), Raw("click", null, visitor: null), Raw("bad type!", null)) };
        // A beacon: the key in the query string, the body as text/plain.
        var (status, body, _) = await Collect(null, envelope, $"?key={collectKey}", new() { ["User-Agent"] = "Mozilla/5.0 (Test)" }, contentType: "text/plain");
        status.ShouldBe(200);
        body!["accepted"]!.GetValue<int>().ShouldBe(2);
        body["rejected"]!.GetValue<int>().ShouldBe(1);
        var results = body["results"]!.AsArray();
        results[0]!["event_id"]!.GetValue<string>().ShouldBe(id);
        results[0]!["status"]!.GetValue<string>().ShouldBe("accepted");
        Guid.TryParse(results[1]!["event_id"]!.GetValue<string>(), out _).ShouldBeTrue("an event without an id gets a UUID");
        results[2]!["status"]!.GetValue<string>().ShouldBe("rejected");
        results[2]!["error"]!["field"]!.GetValue<string>().ShouldBe("events[2].eventType");

        // The same event id again is a duplicate, with a Bearer ingest key too.
        var (_, again, _) = await Collect(t.IngestKey, new JsonObject { ["events"] = new JsonArray(Raw("page_view", id)) });
        again!["results"]![0]!["status"]!.GetValue<string>().ShouldBe("duplicate");

        // An event of the tenant: the visitor is the user, the type the action, events = 1, the site the tenant.
        var (_, stats) = await Get(t.ReadKey, "/v1/users/v1/stats");
        stats!["measures"]!["events"]!["all_time"]!.GetValue<decimal>().ShouldBe(1m);
        (await Get(t.ReadKey, "/v1/users/s1/stats")).Status.ShouldBe(200, "without a visitor the session is the user");
        await Eventually.WaitFor(() => Get(t.ReadKey, $"/v1/rollups/events?scope=site_id:{t.Id}&period=all_time"),
            r => (decimal?)r.Body?["total"] == 2m, TimeSpan.FromSeconds(10), "the site's rollup");
        var payload = JsonNode.Parse(await Fixture.Db.ScalarAsync<string>(
            "SELECT payload::text FROM user_action_events WHERE tenant_id = @t AND idempotency_key = @k", ("t", t.Id), ("k", id)))!;
        payload["eventType"]!.GetValue<string>().ShouldBe("page_view");
        payload["data"]!["scroll"]!.GetValue<decimal>().ShouldBe(0.75m);
        payload["ip_address"]!.GetValue<string>().ShouldBe("127.0.0.0", "truncated to /24 by default");
        payload["user_agent"]!.GetValue<string>().ShouldBe("Mozilla/5.0 (Test)");
        payload["path"]!.GetValue<string>().ShouldBe("/products/42");
        payload["site_id"]!.GetValue<string>().ShouldBe(t.Id);
    }

    [Fact]
    public async Task a_collect_key_can_only_collect_and_only_from_the_tenants_origins()
    {
        var t = await Fixture.CreateTenantAsync(Config());
        var collectKey = await KeyAsync(t.Id, "collect");
        (await Get(collectKey, "/v1/users/v1/stats")).Status.ShouldBe(403);
        (await Post(collectKey, Batch(Event("u", "k1")))).Status.ShouldBe(403);
        (await Get(t.ReadKey, "/v1/collect")).Status.ShouldBe(405);
        (await Collect(t.ReadKey, new JsonObject { ["events"] = new JsonArray(Raw("page_view", null)) })).Status.ShouldBe(403);
        // ?key= is taken on /v1/collect only.
        (await Get(null, $"/v1/users/v1/stats?key={t.ReadKey}")).Status.ShouldBe(401);

        var (allowed, _, response) = await Collect(collectKey, new JsonObject { ["events"] = new JsonArray(Raw("page_view", null)) },
            headers: new() { ["Origin"] = "https://shop.example" });
        allowed.ShouldBe(200);
        response.Headers.GetValues("Access-Control-Allow-Origin").ShouldBe(["https://shop.example"]);
        var (refused, body, _) = await Collect(collectKey, new JsonObject { ["events"] = new JsonArray(Raw("page_view", null)) },
            headers: new() { ["Origin"] = "https://evil.example" });
        refused.ShouldBe(403);
        body!["error"]!["code"]!.GetValue<string>().ShouldBe("origin_not_allowed");

        var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/collect");
        preflight.Headers.Add("Origin", "https://shop.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization, content-type");
        var answer = await Fixture.Http.SendAsync(preflight);
        answer.StatusCode.ShouldBe(HttpStatusCode.NoContent);
        answer.Headers.GetValues("Access-Control-Allow-Origin").ShouldBe(["https://shop.example"]);
        answer.Headers.GetValues("Access-Control-Allow-Headers").Single().ShouldContain("Authorization");
    }

    [Theory]
    [InlineData("""[{"eventType": "page_view"}]""", "invalid_body")]
    [InlineData("""{"eventType": "single", "events": []}""", "invalid_body")]
    [InlineData("""{"events": []}""", "invalid_body")]
    [InlineData("""{"events": {}}""", "invalid_body")]
    [InlineData("""{"events": [], "extra": 1}""", "unknown_field")]
    public async Task a_body_of_another_shape_is_a_400_for_the_whole_request(string body, string code)
    {
        var t = await Fixture.CreateTenantAsync(Config());
        var (status, answer, _) = await Collect(t.IngestKey, JsonNode.Parse(body)!);
        status.ShouldBe(400);
        answer!["error"]!["code"]!.GetValue<string>().ShouldBe(code);
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id = @t", ("t", t.Id))).ShouldBe(0);
    }

    [Fact]
    public async Task the_ip_policy_keeps_the_whole_address_or_none_and_a_trusted_proxy_names_the_client()
    {
        var full = await Fixture.CreateTenantAsync(Config("full"));
        var none = await Fixture.CreateTenantAsync(Config("none"));
        var behindProxy = await Fixture.StartExtraApiAsync(new() { ["Tally:Api:TrustedProxies:0"] = "127.0.0.1" });
        var forwarded = new Dictionary<string, string> { ["X-Forwarded-For"] = "203.0.113.77, 127.0.0.1" };
        var id1 = Guid.NewGuid().ToString();
        var id2 = Guid.NewGuid().ToString();
        var id3 = Guid.NewGuid().ToString();
        (await Collect(full.IngestKey, new JsonObject { ["events"] = new JsonArray(Raw("page_view", id1)) }, headers: forwarded)).Status.ShouldBe(200);
        (await Collect(full.IngestKey, new JsonObject { ["events"] = new JsonArray(Raw("page_view", id2)) }, headers: forwarded, via: behindProxy)).Status.ShouldBe(200);
        (await Collect(none.IngestKey, new JsonObject { ["events"] = new JsonArray(Raw("page_view", id3)) })).Status.ShouldBe(200);
        async Task<string?> Ip(string tenant, string key) => JsonNode.Parse(await Fixture.Db.ScalarAsync<string>(
            "SELECT payload::text FROM user_action_events WHERE tenant_id = @t AND idempotency_key = @k", ("t", tenant), ("k", key)))!["ip_address"]?.GetValue<string>();
        (await Ip(full.Id, id1)).ShouldBe("127.0.0.1", "an untrusted sender's X-Forwarded-For is ignored");
        (await Ip(full.Id, id2)).ShouldBe("203.0.113.77");
        (await Ip(none.Id, id3)).ShouldBeNull();
    }

    [Fact]
    public async Task quality_usage_by_site_billing_and_the_events_log_view_count_what_was_collected()
    {
        var config = Config();
        config["billing"] = new JsonObject { ["price_per_1000_events"] = 2.5, ["currency"] = "EUR" };
        var t = await Fixture.CreateTenantAsync(config);
        JsonObject Site(string site, bool complete) => new()
        {
            ["event_type"] = "page_view", ["timestamp"] = "2025-11-22T10:00:00Z", ["event_id"] = Guid.NewGuid().ToString(), ["site_id"] = site,
            ["visitor_id"] = "v9", ["session_id"] = complete ? "s9" : null, ["url"] = complete ? "https://a.example/x" : null,
        };
        var (status, _, _) = await Collect(t.IngestKey, new JsonObject
        {
            ["events"] = new JsonArray(Site("site-a", true), Site("site-a", false), Site("site-b", true), new JsonObject { ["event_type"] = "x", ["timestamp"] = "nope" }),
        });
        status.ShouldBe(200);

        var (_, quality) = await Eventually.WaitFor(() => Get(t.ReadKey, "/v1/quality?day=2025-11-22"), r => (long?)r.Body?["received"] == 4,
            TimeSpan.FromSeconds(10), "the day's quality counts");
        quality!["day"]!.GetValue<string>().ShouldBe("2025-11-22");
        quality["missing_session_id"]!.GetValue<long>().ShouldBe(2);
        quality["missing_visitor_id"]!.GetValue<long>().ShouldBe(1);
        quality["missing_url"]!.GetValue<long>().ShouldBe(2);
        quality["rejected_by_code"]!["invalid_timestamp"]!.GetValue<long>().ShouldBe(1);
        (await Get(t.ReadKey, "/v1/quality?day=2025-13-01")).Status.ShouldBe(400);

        var (_, usage) = await Get(t.ReadKey, "/v1/usage?month=2025-11");
        usage!["events_accepted"]!.GetValue<long>().ShouldBe(3);
        usage["amount"]!.GetValue<decimal>().ShouldBe(0.0075m);
        usage["currency"]!.GetValue<string>().ShouldBe("EUR");
        var (_, bySite) = await Get(t.ReadKey, "/v1/usage?month=2025-11&by=site");
        bySite!["sites"]!.AsArray().Select(x => ((string)x!["site_id"]!, (long)x["events_accepted"]!, (string)x["first_seen"]!, (decimal)x["amount"]!))
            .ShouldBe([("site-a", 2L, "2025-11-22", 0.005m), ("site-b", 1L, "2025-11-22", 0.0025m)]);
        (await Get(t.ReadKey, "/v1/usage?by=country")).Status.ShouldBe(400);

        // The seed's own metering, completeness and export-lag queries against events_log.
        var schema = "events_" + t.Id;
        var (exit, _, error) = await Tally.Cli.Tests.CliRun.RunAsync("compat", "--pg", Fixture.Db.ConnectionString, "--tenant", t.Id, "--schema", schema, "--measure", "events");
        exit.ShouldBe(0, error);
        await using var db = Npgsql.NpgsqlDataSource.Create(Fixture.Db.ConnectionString);
        async Task<List<object[]>> Rows(string sql)
        {
            await using var cmd = db.CreateCommand(sql);
            await using var reader = await cmd.ExecuteReaderAsync();
            var rows = new List<object[]>();
            while (await reader.ReadAsync()) { var row = new object[reader.FieldCount]; reader.GetValues(row); rows.Add(row); }
            return rows;
        }
        // Metering per site and month, as the seed bills: the same counts as /v1/usage?by=site.
        (await Rows($"SELECT site_id, date_trunc('month', created_at) AS month, count(*) FROM {schema}.events_log GROUP BY 1, 2 ORDER BY 1, 2"))
            .Select(r => ((string)r[0], (long)r[2]))
            .ShouldBe(bySite["sites"]!.AsArray().Select(x => ((string)x!["site_id"]!, (long)x["events_accepted"]!)));
        // Data completeness over the last day: what /v1/quality counts, less the rejected event (received, but not in the
        // log; it had no session, visitor or URL).
        (await Rows($"""
            SELECT count(*) FILTER (WHERE session_id IS NULL), count(*) FILTER (WHERE visitor_id IS NULL), count(*) FILTER (WHERE url IS NULL), count(*)
              FROM {schema}.events_log WHERE created_at >= now() - interval '1 day'
            """)).Single().ShouldBe(new[] { "missing_session_id", "missing_visitor_id", "missing_url", "received" }
                .Select(field => (object)(quality[field]!.GetValue<long>() - 1)).ToArray());
        // Export lag: what is waiting and since when, as /v1/exports says.
        var (_, exports) = await Get(t.ReadKey, "/v1/exports");
        var lag = (await Rows($"SELECT count(*), min(created_at) FROM {schema}.events_log WHERE processed_at IS NULL")).Single();
        lag[0].ShouldBe(exports!["pending_events"]!.GetValue<long>());
        new DateTimeOffset(DateTime.SpecifyKind((DateTime)lag[1], DateTimeKind.Utc)).ShouldBe(exports["oldest_pending_received_at"]!.GetValue<DateTimeOffset>(),
            TimeSpan.FromMilliseconds(1));
        // Batch sizes (events received together): every accepted event is in one.
        (await Rows($"SELECT n, count(*) FROM (SELECT created_at, count(*) AS n FROM {schema}.events_log GROUP BY created_at) b GROUP BY n ORDER BY n"))
            .Sum(r => (long)r[0] * (long)r[1]).ShouldBe(usage["events_accepted"]!.GetValue<long>());
        (await Rows($"SELECT family(ip_address), event_type FROM {schema}.events_log LIMIT 1")).Single().ShouldBe([4, "page_view"]);
    }

    private static JsonObject Exporting(int keepHours, string path)
    {
        var config = Config();
        config["export"] = new JsonObject
        {
            ["every_minutes"] = 60, ["delay_minutes"] = 0, ["keep_hours"] = keepHours,
            ["sink"] = new JsonObject { ["type"] = "directory", ["path"] = path },
        };
        return config;
    }

    [Fact]
    public async Task continuous_export_writes_verified_batches_marks_processed_at_and_removes_after_keep_hours()
    {
        var path = "sink-" + Guid.NewGuid().ToString("N")[..6];
        var t = await Fixture.CreateTenantAsync(Exporting(keepHours: 24, path));
        (await Collect(t.IngestKey, new JsonObject { ["events"] = new JsonArray(Raw("page_view", null), Raw("click", null), Raw("scroll", null)) })).Status.ShouldBe(200);
        var (_, before) = await Get(t.ReadKey, "/v1/exports");
        before!["pending_events"]!.GetValue<long>().ShouldBe(3);
        before["batches"]!.AsArray().ShouldBeEmpty();

        (await Fixture.Cluster.GetGrain<Tally.Contracts.IMaintenanceGrain>(0).ExportNow()).ShouldBeGreaterThanOrEqualTo(3);
        var (_, after) = await Get(t.ReadKey, "/v1/exports?limit=5");
        after!["pending_events"]!.GetValue<long>().ShouldBe(0);
        var batch = after["batches"]![0]!;
        batch["rows"]!.GetValue<long>().ShouldBe(3);
        batch["exported_at"].ShouldNotBeNull();
        batch["removed_at"].ShouldBeNull("kept 24 hours");
        batch["sinks"]!.AsArray().Select(x => (string)x!).ShouldBe([$"directory:{path}"]);
        var dir = Directory.GetDirectories(Path.Combine(Fixture.ExportDirectory, path, t.Id), "*", SearchOption.AllDirectories)
            .Single(d => File.Exists(Path.Combine(d, "manifest.json")));
        Path.GetFileName(dir).ShouldBe($"{batch["first_event_id"]}-{batch["last_event_id"]}");
        (await Tally.Postgres.Lifecycle.EventExport.VerifyAsync(dir)).Rows.ShouldBe(3);
        // A second pass finds nothing new.
        await Fixture.Cluster.GetGrain<Tally.Contracts.IMaintenanceGrain>(0).ExportNow();
        (await Get(t.ReadKey, "/v1/exports")).Body!["batches"]!.AsArray().Count(b => (long)b!["rows"]! > 0).ShouldBe(1);

        var schema = "export_" + t.Id;
        var (exit, _, error) = await Tally.Cli.Tests.CliRun.RunAsync("compat", "--pg", Fixture.Db.ConnectionString, "--tenant", t.Id, "--schema", schema, "--measure", "events");
        exit.ShouldBe(0, error);
        (await Fixture.Db.ScalarAsync<long>($"SELECT count(*) FROM {schema}.events_log WHERE processed_at IS NOT NULL")).ShouldBe(3);

        // keep_hours 0: exported events leave the log in the same pass, and only they.
        var gone = await Fixture.CreateTenantAsync(Exporting(keepHours: 0, path));
        (await Collect(gone.IngestKey, new JsonObject { ["events"] = new JsonArray(Raw("page_view", null), Raw("click", null)) })).Status.ShouldBe(200);
        await Fixture.Cluster.GetGrain<Tally.Contracts.IMaintenanceGrain>(0).ExportNow();
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id = @t", ("t", gone.Id))).ShouldBe(0);
        var (_, goneExports) = await Get(gone.ReadKey, "/v1/exports");
        goneExports!["batches"]![0]!["removed_at"].ShouldNotBeNull();
        goneExports["batches"]![0]!["rows"]!.GetValue<long>().ShouldBe(2);
        // The bucket's copy puts them back (the operations guide's restore).
        var goneDir = Directory.GetDirectories(Path.Combine(Fixture.ExportDirectory, path, gone.Id), "*", SearchOption.AllDirectories)
            .Single(d => File.Exists(Path.Combine(d, "manifest.json")));
        (await new Tally.Postgres.Lifecycle.EventExport(Fixture.Db.DataSource).RestoreAsync(goneDir)).ShouldBe(2);
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id = @t", ("t", gone.Id))).ShouldBe(2);
    }

    [Theory]
    [InlineData("""{"type": "directory", "path": "/etc"}""", "export.sink.path")]
    [InlineData("""{"type": "directory", "path": "a/../../b"}""", "export.sink.path")]
    [InlineData("""{"type": "directory"}""", "export.sink.path")]
    [InlineData("""{"type": "directory", "path": "acme/.staging"}""", "export.sink.path")]
    [InlineData("""{"type": "s3", "bucket": "b", "credentials": "local"}""", "export.sink.bucket")]
    [InlineData("""{"type": "s3", "bucket": "Acme_Raw", "credentials": "local"}""", "export.sink.bucket")]
    [InlineData("""{"type": "s3", "bucket": "acme-raw"}""", "export.sink.credentials")]
    [InlineData("""{"type": "s3", "bucket": "acme-raw", "credentials": "local", "prefix": "a/../b"}""", "export.sink.prefix")]
    [InlineData("""{"type": "s3", "bucket": "acme-raw", "credentials": "local", "path": "x"}""", "export.sink.path")]
    [InlineData("""{"type": "ftp", "path": "x"}""", "export.sink.type")]
    public async Task a_bad_export_sink_is_a_400_naming_the_field(string sink, string field)
    {
        var config = Config();
        config["export"] = new JsonObject { ["every_minutes"] = 60, ["sink"] = JsonNode.Parse(sink) };
        var response = await Fixture.Send(HttpMethod.Put, $"/v1/tenants/t{Guid.NewGuid().ToString("N")[..12]}", ApiFixture.AdminKey, config);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["field"]!.GetValue<string>().ShouldBe(field);
    }
}
