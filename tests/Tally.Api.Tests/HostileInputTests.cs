using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Shouldly;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>Issue 9's reproducers: each defect's exact input, and what it must do now.</summary>
[Collection(ApiCollection.Name)]
public class HostileInputTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private Task<HttpResponseMessage> PostRaw(string key, string body) => Fixture.SendRaw(HttpMethod.Post, "/v1/events", key, body);

    private static string Raw(string user, string key, string extra = "") =>
        $$"""{"user_id": "{{user}}", "action": "bike", "measures": {"co2_saved_kg": 1}, "occurred_at": "2025-11-22T10:00:00Z", "idempotency_key": "{{key}}"{{extra}}}""";

    [Fact]
    public async Task a_poison_event_is_rejected_naming_its_field_and_every_other_event_of_every_tenant_commits()
    {
        var poisoner = await Fixture.CreateTenantAsync();
        var bystander = await Fixture.CreateTenantAsync();
        // Each line is an event that PostgreSQL cannot store; before the fix each failed its whole group commit.
        var poison = new[]
        {
            (Raw("a\\u0000b", "p1"), "invalid_string", "user_id"),
            (Raw("u", "p2\\u0000"), "invalid_string", "idempotency_key"),
            (Raw("u", "p3", ", \"dims\": {\"org\": \"o\\u0000\"}"), "invalid_string", "dims.org"),
            (Raw("u", "p4", ", \"payload\": {\"x\": \"a\\u0000b\"}"), "invalid_payload", "payload.x"),
            (Raw("u", "p5", ", \"payload\": {\"x\": \"\\ud800\"}"), "invalid_payload", "payload.x"),
            (Raw("\\ud800", "p6"), "invalid_string", "user_id"),
        };
        var body = "{\"events\": [" + string.Join(", ", poison.Select(p => p.Item1)) + ", " + Raw("good", "g1") + "]}";

        // The bystander posts at the same time, many times: it must never see a 503.
        var bystanderStatuses = new List<int>();
        var bystanding = Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                var (status, _) = await Post(bystander.IngestKey, Batch(Event($"b{i}", $"b{i}")));
                lock (bystanderStatuses) bystanderStatuses.Add(status);
            }
        });
        for (var i = 0; i < 5; i++)
        {
            var response = await PostRaw(poisoner.IngestKey, body);
            ((int)response.StatusCode).ShouldBe(200);
            var results = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["results"]!.AsArray();
            for (var p = 0; p < poison.Length; p++)
            {
                results[p]!["status"]!.GetValue<string>().ShouldBe("rejected");
                results[p]!["error"]!["code"]!.GetValue<string>().ShouldBe(poison[p].Item2);
                results[p]!["error"]!["field"]!.GetValue<string>().ShouldBe($"events[{p}].{poison[p].Item3}");
            }
            results[^1]!["status"]!.GetValue<string>().ShouldBe(i == 0 ? "accepted" : "duplicate");
        }
        await bystanding;
        bystanderStatuses.ShouldAllBe(s => s == 200);
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id = @t", ("t", poisoner.Id))).ShouldBe(1);
    }

    [Theory]
    [InlineData("bike", "invalid_string", "events[0].action")]
    [InlineData("payload-text", "invalid_payload", "events[0].payload.note")]
    public async Task invalid_utf8_in_a_string_rejects_its_event_naming_the_field(string where, string code, string field)
    {
        var t = await Fixture.CreateTenantAsync();
        var text = Raw("u", "k1", ", \"payload\": {\"note\": \"payload-text\"}");
        var bytes = Encoding.UTF8.GetBytes(text).ToList();
        bytes.InsertRange(Encoding.UTF8.GetByteCount(text[..text.IndexOf(where, StringComparison.Ordinal)]), [0xC3, 0x28]); // invalid UTF-8
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = new ByteArrayContent(bytes.ToArray()) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", t.IngestKey);
        var response = await Fixture.Http.SendAsync(request);
        ((int)response.StatusCode).ShouldBe(200);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["results"]![0]!["error"]!;
        error["code"]!.GetValue<string>().ShouldBe(code);
        error["field"]!.GetValue<string>().ShouldBe(field);
    }

    [Theory]
    [InlineData("\\ud800xyz")]
    [InlineData("ab\\ud800")]
    [InlineData("\\ud800\\ud800")]
    [InlineData("eve\\ud800")]
    public async Task a_property_name_with_a_lone_surrogate_is_never_a_500_and_the_valid_event_beside_it_commits(string name)
    {
        // Looking up "events" or "role" unescapes other names; these names made that throw (found by the fuzzer).
        var t = await Fixture.CreateTenantAsync();
        foreach (var body in new[] { $$"""{"{{name}}": 1}""", $$"""{"events": [{"{{name}}": 1}]}""" })
        {
            var response = await Fixture.SendRaw(HttpMethod.Post, "/v1/events", t.IngestKey, body);
            ((int)response.StatusCode).ShouldBeOneOf([200, 400], body);
        }
        var keys = await Fixture.SendRaw(HttpMethod.Post, $"/v1/tenants/{t.Id}/keys", ApiFixture.AdminKey, $$"""{"{{name}}": 1, "role": "read"}""");
        ((int)keys.StatusCode).ShouldBe(400);
        (await keys.Content.ReadAsStringAsync()).ShouldContain("unknown_field");

        var valid = await Fixture.SendRaw(HttpMethod.Post, "/v1/events", t.IngestKey, $$"""
            {"events": [{"user_id": "u", "action": "a", "measures": {"co2_saved_kg": 1}, "occurred_at": "2025-11-22T10:00:00Z",
                         "idempotency_key": "k", "{{name}}": 1}]}
            """);
        ((int)valid.StatusCode).ShouldBe(200);
        JsonNode.Parse(await valid.Content.ReadAsStringAsync())!["accepted"]!.GetValue<int>().ShouldBe(1);
    }

    [Fact]
    public async Task a_value_past_decimal_range_is_rejected_before_the_commit_and_the_user_stays_readable()
    {
        // The reproducer: a measure without max and three events of decimal's largest value.
        var t = await Fixture.CreateTenantAsync();
        var huge = "79228162514264337593543950335";
        var body = "{\"events\": [" + string.Join(", ", Enumerable.Range(1, 3).Select(i =>
            $$"""{"user_id": "rich", "action": "sale", "measures": {"sales": {{huge}}}, "occurred_at": "2025-11-22T10:00:00Z", "idempotency_key": "h{{i}}"}""")) + "]}";
        var response = await PostRaw(t.IngestKey, body);
        ((int)response.StatusCode).ShouldBe(200);
        var results = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["results"]!.AsArray();
        results.ShouldAllBe(r => r!["status"]!.GetValue<string>() == "rejected" && r["error"]!["code"]!.GetValue<string>() == "measure_out_of_range");
        (await Get(t.ReadKey, "/v1/users/rich/stats")).Status.ShouldBe(404);
        // A valid large sale is fine, and the user's boards and rollups still read.
        (await PostRaw(t.IngestKey, $$"""{"user_id": "rich", "action": "sale", "measures": {"sales": 1000000000000}, "occurred_at": "2025-11-22T10:00:00Z", "idempotency_key": "ok"}""")).EnsureSuccessStatusCode();
        var (status, stats) = await Get(t.ReadKey, "/v1/users/rich/stats");
        status.ShouldBe(200);
        stats!["measures"]!["sales"]!["all_time"]!.GetValue<decimal>().ShouldBe(1_000_000_000_000m);
        (await Get(t.ReadKey, "/v1/rollups/sales?scope=global&period=all_time")).Status.ShouldBe(200);
    }

    [Theory]
    [InlineData("""{"measures": {"m": {}}, "leaderboards": {"measures": null}}""", "leaderboards.measures")]
    [InlineData("""{"measures": {"m": {}}, "leaderboards": {"measures": ["m"], "scopes": null}}""", "leaderboards.scopes")]
    [InlineData("""{"measures": {"m": {}}, "leaderboards": {"measures": ["m"], "periods": null}}""", "leaderboards.periods")]
    [InlineData("""{"measures": {"m": {}}, "checkpoint": {"measure": "m", "tiers": null}}""", "checkpoint.tiers")]
    [InlineData("""{"measures": null}""", "measures")]
    [InlineData("""{"measures": {"m": {}}, "leaderbords": {}}""", "leaderbords")]
    [InlineData("""{"time_zone": "\ud800", "measures": {"m": {}}}""", "time_zone")]
    public async Task nulls_typos_and_bad_strings_in_a_tenant_config_are_400_naming_the_field(string config, string field)
    {
        var response = await Fixture.SendRaw(HttpMethod.Put, $"/v1/tenants/t{Guid.NewGuid():N}"[..24], ApiFixture.AdminKey, config);
        ((int)response.StatusCode).ShouldBe(400);
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["field"]!.GetValue<string>().ShouldBe(field);
    }

    [Fact]
    public async Task a_typo_in_an_update_is_400_and_keeps_the_stored_config()
    {
        var t = await Fixture.CreateTenantAsync();
        var response = await Fixture.SendRaw(HttpMethod.Put, $"/v1/tenants/{t.Id}", ApiFixture.AdminKey,
            """{"time_zone": "Europe/Berlin", "measures": {"co2_saved_kg": {}}, "leaderbords": {}}""");
        ((int)response.StatusCode).ShouldBe(400);
        var (_, stored) = await Get(ApiFixture.AdminKey, $"/v1/tenants/{t.Id}");
        stored!["config"]!["leaderboards"]!["measures"]![0]!.GetValue<string>().ShouldBe("co2_saved_kg");
    }

    [Theory]
    [InlineData("GET", "/v1/nope", 404, "not_found")]
    [InlineData("GET", "/v1/events", 405, "method_not_allowed")]
    [InlineData("DELETE", "/v1/leaderboards/co2_saved_kg", 405, "method_not_allowed")]
    [InlineData("POST", "/metrics", 405, "method_not_allowed")]
    [InlineData("DELETE", "/metrics", 405, "method_not_allowed")]
    [InlineData("BREW", "/metrics", 405, "method_not_allowed")]
    public async Task unknown_routes_and_methods_have_error_bodies(string method, string path, int status, string code)
    {
        var t = await Fixture.CreateTenantAsync();
        var response = await Fixture.Send(new HttpMethod(method), path, t.ReadKey);
        ((int)response.StatusCode).ShouldBe(status);
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>().ShouldBe(code);
    }

    [Theory]
    [InlineData("/v1/usage?month=9999-12", "month")]
    [InlineData("/v1/usage?month=0000-01", "month")]
    [InlineData("/v1/leaderboards/co2_saved_kg?scope=global&period=month&key=9999-12", "key")]
    [InlineData("/v1/leaderboards/co2_saved_kg?scope=global&period=year&key=9999", "key")]
    [InlineData("/v1/leaderboards/co2_saved_kg?scope=global&period=week&key=9999-W52", "key")]
    [InlineData("/v1/leaderboards/co2_saved_kg?scope=global&period=week&key=2025-W53", "key")]
    [InlineData("/v1/leaderboards/co2_saved_kg?scope=global&period=week&key=0000-W01", "key")]
    [InlineData("/v1/leaderboards/co2_saved_kg?scope=global&period=month&key=2025-00", "key")]
    [InlineData("/v1/leaderboards/co2_saved_kg/users/u1?scope=global&period=month&key=9999-12", "key")]
    [InlineData("/v1/rollups/co2_saved_kg?scope=global&period=month&key=9999-12", "key")]
    [InlineData("/v1/rollups/co2_saved_kg?scope=global&period=year&key=9999", "key")]
    public async Task extreme_period_keys_are_400_naming_the_parameter(string path, string field)
    {
        var t = await Fixture.CreateTenantAsync();
        var (status, body) = await Get(t.ReadKey, path);
        status.ShouldBe(400, path);
        body!["error"]!["field"]!.GetValue<string>().ShouldBe(field);
    }

    [Theory]
    [InlineData("global_9999-12")]
    [InlineData("global_9999")]
    [InlineData("global_2025-11-00")]
    [InlineData("country_US_9999-12-31")]
    public async Task extreme_rollup_keys_are_a_client_error(string rollupKey)
    {
        var t = await Fixture.CreateTenantAsync();
        var (status, _) = await Get(t.ReadKey, $"/v1/rollups/by-key/{rollupKey}");
        status.ShouldBeInRange(400, 404);
    }

    [Fact]
    public async Task an_oversized_uri_or_header_is_414_or_431_with_an_error_body()
    {
        var uri = await Fixture.Http.GetAsync("/v1/users/" + new string('a', 20_000) + "/stats");
        ((int)uri.StatusCode).ShouldBe(414);
        JsonNode.Parse(await uri.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>().ShouldBe("uri_too_long");

        var request = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        request.Headers.Add("X-Big", new string('a', 40_000));
        var headers = await Fixture.Http.SendAsync(request);
        ((int)headers.StatusCode).ShouldBe(431);
        JsonNode.Parse(await headers.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>().ShouldBe("headers_too_large");
    }

    [Fact]
    public async Task messages_are_plain_utf8_without_escaped_apostrophes()
    {
        var t = await Fixture.CreateTenantAsync();
        var text = await (await Fixture.Send(HttpMethod.Get, "/v1/users/u/stats", t.IngestKey)).Content.ReadAsStringAsync();
        text.ShouldContain("role 'ingest'");
        text.ShouldNotContain("\\u0027");
    }

    [Fact]
    public async Task postgres_down_for_an_api_instance_answers_503_with_retry_after_and_serves_what_memory_holds()
    {
        var t = await Fixture.CreateTenantAsync();
        (await Post(t.IngestKey, Batch(Event("alice", "pg1", 2m)))).Status.ShouldBe(200);
        var port = new Npgsql.NpgsqlConnectionStringBuilder(Fixture.Db.ConnectionString).Port;
        await using var proxy = new TcpFaultProxy("127.0.0.1", port);
        var api = await Fixture.StartExtraApiAsync(new() { ["Tally:Postgres:ConnectionString"] = Fixture.DatabaseVia(proxy.Port) });
        async Task<HttpResponseMessage> Read(string path, string key)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            return await api.SendAsync(request);
        }
        // Warm this instance's key and tenant caches, then cut it from PostgreSQL.
        (await Read("/v1/users/alice/stats", t.ReadKey)).StatusCode.ShouldBe(System.Net.HttpStatusCode.OK);
        proxy.Cut();

        // A user whose grain holds the stats is still answered (key and config from this instance's memory).
        (await Read("/v1/users/alice/stats", t.ReadKey)).StatusCode.ShouldBe(System.Net.HttpStatusCode.OK);
        // What needs PostgreSQL is 503 with Retry-After and the error body, never a bare 500.
        var other = await Fixture.CreateTenantAsync();
        foreach (var (path, key) in new[] { ("/v1/users/alice/stats", other.ReadKey), ($"/v1/tenants/{other.Id}", ApiFixture.AdminKey) })
        {
            var response = await Read(path, key);
            ((int)response.StatusCode).ShouldBe(503, path);
            response.Headers.RetryAfter.ShouldNotBeNull();
            JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>().ShouldBe("unavailable");
        }
        proxy.Restore();
        await Eventually.WaitFor(() => Read($"/v1/tenants/{other.Id}", ApiFixture.AdminKey), r => r.IsSuccessStatusCode, TimeSpan.FromSeconds(30), "PostgreSQL back");
    }
}

[Collection(ApiCollection.Name)]
public class AdmissionTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    [Fact]
    public async Task past_the_in_flight_bound_a_request_is_refused_at_once_and_writes_nothing()
    {
        // The reproducer, scaled: many clients posting big batches at once against a small bound.
        var api = await Fixture.StartExtraApiAsync(new() { ["Tally:Api:MaxEventsInFlight"] = "1500" });
        var t = await Fixture.CreateTenantAsync();
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 12).Select(async c =>
        {
            var events = new System.Text.Json.Nodes.JsonArray();
            for (var i = 0; i < 1000; i++) events.Add(Event($"u{c}-{i % 50}", $"c{c}-{i}"));
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events")
            {
                Content = new StringContent(new JsonObject { ["events"] = events }.ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", t.IngestKey);
            var response = await api.SendAsync(request);
            return (Client: c, Status: (int)response.StatusCode, Body: await response.Content.ReadAsStringAsync(), RetryAfter: response.Headers.RetryAfter);
        }));
        outcomes.ShouldContain(o => o.Status == 200);
        outcomes.ShouldContain(o => o.Status == 503);
        foreach (var o in outcomes)
        {
            var written = await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id = @t AND idempotency_key LIKE @k",
                ("t", t.Id), ("k", $"c{o.Client}-%"));
            if (o.Status == 200) written.ShouldBe(1000);
            else
            {
                o.Status.ShouldBe(503);
                JsonNode.Parse(o.Body)!["error"]!["code"]!.GetValue<string>().ShouldBe("overloaded");
                o.RetryAfter.ShouldNotBeNull();
                written.ShouldBe(0); // refused before anything was written: retrying is plainly safe
            }
        }
    }
}
