using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Shouldly;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>Tenant administration and the API's surface: config reads, keys, deny by default, the OpenAPI document.</summary>
[Collection(ApiCollection.Name)]
public class AdministrationTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    [Fact]
    public async Task a_tenant_reads_back_with_its_version_which_grows_with_each_change()
    {
        var t = await Fixture.CreateTenantAsync();
        var (status, first) = await Get(t.AdminKey, $"/v1/tenants/{t.Id}");
        status.ShouldBe(200);
        first!["tenant_id"]!.GetValue<string>().ShouldBe(t.Id);
        first["config"]!["time_zone"]!.GetValue<string>().ShouldBe("Europe/Berlin");
        var version = first["version"]!.GetValue<long>();

        var patch = await Fixture.SendRaw(HttpMethod.Patch, $"/v1/tenants/{t.Id}", t.AdminKey, """{"measures": {"co2_saved_kg": {"min": 0, "max": 100000}, "sales": {}, "steps": {}}}""");
        patch.StatusCode.ShouldBe(HttpStatusCode.OK);
        var (_, second) = await Get(ApiFixture.AdminKey, $"/v1/tenants/{t.Id}");
        second!["version"]!.GetValue<long>().ShouldBe(version + 1);
        second["config"]!["measures"]!["steps"].ShouldNotBeNull();
        second["config"]!["leaderboards"].ShouldNotBeNull(); // a patch keeps what it does not name

        (await Get(t.ReadKey, $"/v1/tenants/{t.Id}")).Status.ShouldBe(403);
        var other = await Fixture.CreateTenantAsync();
        (await Get(other.AdminKey, $"/v1/tenants/{t.Id}")).Status.ShouldBe(403);
        (await Get(ApiFixture.AdminKey, "/v1/tenants/no-such-tenant")).Status.ShouldBe(404);
    }

    [Fact]
    public async Task keys_are_listed_without_secrets_and_a_revoked_key_answers_401_within_the_cache_bound()
    {
        var t = await Fixture.CreateTenantAsync();
        var created = await Fixture.Send(HttpMethod.Post, $"/v1/tenants/{t.Id}/keys", t.AdminKey, new JsonObject { ["role"] = "read" });
        created.StatusCode.ShouldBe(HttpStatusCode.Created);
        var body = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        var keyId = body["key_id"]!.GetValue<string>();
        var secret = body["key"]!.GetValue<string>();
        body["role"]!.GetValue<string>().ShouldBe("read");

        var (status, list) = await Get(t.AdminKey, $"/v1/tenants/{t.Id}/keys");
        status.ShouldBe(200);
        var text = list!.ToJsonString();
        text.ShouldNotContain(secret);
        text.ShouldNotContain(secret[^12..]);
        var keys = list["keys"]!.AsArray();
        keys.Count.ShouldBe(4);
        var entry = keys.Single(k => k!["key_id"]!.GetValue<string>() == keyId)!;
        entry["revoked_at"].ShouldBeNull();
        entry["created_at"].ShouldNotBeNull();

        // Both API instances know the key; revoke it through the first.
        (await Get(secret, "/v1/users/nobody/stats")).Status.ShouldBe(404);
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/users/nobody/stats");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        (await Fixture.Http2.SendAsync(request)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await Fixture.Send(HttpMethod.Delete, $"/v1/tenants/{t.Id}/keys/{keyId}", t.AdminKey)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await Get(secret, "/v1/users/nobody/stats")).Status.ShouldBe(401); // at once where it was revoked
        var revokedAt = DateTime.UtcNow;
        await Eventually.WaitFor(async () =>
        {
            var again = new HttpRequestMessage(HttpMethod.Get, "/v1/users/nobody/stats");
            again.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            return (await Fixture.Http2.SendAsync(again)).StatusCode;
        }, s => s == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(ApiFixture.KeyCacheSeconds + 5), "the other API instance to drop the revoked key");
        (DateTime.UtcNow - revokedAt).ShouldBeLessThan(TimeSpan.FromSeconds(ApiFixture.KeyCacheSeconds + 2));

        var (_, after) = await Get(t.AdminKey, $"/v1/tenants/{t.Id}/keys");
        after!["keys"]!.AsArray().Single(k => k!["key_id"]!.GetValue<string>() == keyId)!["revoked_at"].ShouldNotBeNull();
        (await Fixture.Send(HttpMethod.Delete, $"/v1/tenants/{t.Id}/keys/key_unknown", t.AdminKey)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task no_key_character_is_stored()
    {
        var t = await Fixture.CreateTenantAsync();
        var columns = await Fixture.Db.ScalarAsync<string>("SELECT string_agg(column_name, ',') FROM information_schema.columns WHERE table_name = 'api_keys'");
        columns.ShouldNotContain("prefix");
        var stored = await Fixture.Db.ScalarAsync<string>("SELECT string_agg(key_id || role || tenant_id, ',') FROM api_keys WHERE tenant_id = @t", ("t", t.Id));
        stored.ShouldNotContain(t.ReadKey["tly_read_".Length..][..6]);
    }

    [Fact]
    public async Task an_endpoint_that_names_no_policy_is_denied_to_every_key()
    {
        var api = await Fixture.StartExtraApiAsync(new(), app => app.MapGet("/v1/forgotten", () => "open"));
        var t = await Fixture.CreateTenantAsync();
        foreach (var key in new[] { t.ReadKey, t.IngestKey, t.AdminKey, ApiFixture.AdminKey })
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/v1/forgotten");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            (await api.SendAsync(request)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }
        (await api.GetAsync("/v1/forgotten")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task an_unknown_key_costs_one_lookup_and_a_source_that_keeps_failing_gets_429()
    {
        var api = await Fixture.StartExtraApiAsync(new() { ["Tally:Api:FailedAuthPerMinute"] = "20" });
        async Task<HttpResponseMessage> Call(string key)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/v1/users/u/stats");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            return await api.SendAsync(request);
        }
        var bogus = "tly_read_" + Guid.NewGuid().ToString("N");
        var before = await Fixture.Db.ScalarAsync<long>("SELECT COALESCE(sum(calls), 0)::bigint FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query LIKE '%FROM api_keys WHERE key_hash%'");
        for (var i = 0; i < 10; i++) (await Call(bogus)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        var after = await Fixture.Db.ScalarAsync<long>("SELECT COALESCE(sum(calls), 0)::bigint FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query LIKE '%FROM api_keys WHERE key_hash%'");
        (after - before).ShouldBeLessThanOrEqualTo(1);

        HttpResponseMessage? last = null;
        for (var i = 0; i < 15; i++) last = await Call("tly_read_" + Guid.NewGuid().ToString("N"));
        ((int)last!.StatusCode).ShouldBe(429);
        last.Headers.RetryAfter.ShouldNotBeNull();
        JsonNode.Parse(await last.Content.ReadAsStringAsync())!["error"]!["code"]!.GetValue<string>().ShouldBe("auth_rate_limited");
    }

    [Fact]
    public async Task a_key_seen_valid_keeps_working_from_an_address_that_is_blocked_for_unknown_keys()
    {
        // Cache entries lapse at once, so every call of the valid key is a lookup, as after KeyCacheSeconds in production.
        var api = await Fixture.StartExtraApiAsync(new() { ["Tally:Api:FailedAuthPerMinute"] = "5", ["Tally:Api:KeyCacheSeconds"] = "0" });
        var t = await Fixture.CreateTenantAsync();
        async Task<HttpResponseMessage> Call(string key)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/v1/users/u/stats");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            return await api.SendAsync(request);
        }
        (await Call(t.ReadKey)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        for (var i = 0; i < 8; i++) await Call("tly_read_" + Guid.NewGuid().ToString("N"));
        ((int)(await Call("tly_read_" + Guid.NewGuid().ToString("N"))).StatusCode).ShouldBe(429);

        (await Call(t.ReadKey)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        // A key never seen valid here is still refused without a lookup while the address is blocked.
        ((int)(await Call(t.IngestKey)).StatusCode).ShouldBe(429);
    }

    [Fact]
    public async Task the_openapi_document_has_every_endpoint_with_its_schemas_and_the_bearer_scheme()
    {
        var doc = JsonNode.Parse(await Fixture.Http.GetStringAsync("/openapi/v1.json"))!;
        var paths = doc["paths"]!.AsObject();
        string[] expected =
        [
            "/v1/events", "/v1/users/{user_id}/stats", "/v1/leaderboards/{measure}", "/v1/leaderboards/{measure}/users/{user_id}",
            "/v1/rollups/{measure}", "/v1/rollups/by-key/{rollup_key}", "/v1/tenants/{tenant_id}", "/v1/tenants/{tenant_id}/keys",
            "/v1/tenants/{tenant_id}/keys/{key_id}", "/health/live", "/health/ready",
            "/v1/users/{user_id}", "/v1/users/{user_id}/tiers", "/v1/ratios/{ratio}",
        ];
        foreach (var path in expected) paths.ContainsKey(path).ShouldBeTrue(path);
        // /metrics is the Prometheus exporter's endpoint (text, not JSON): described in docs/api.md, not in the document.
        var schemas = doc["components"]!["schemas"]!.AsObject();
        foreach (var schema in new[] { "IngestRequest", "IngestResponse", "StatsResponse", "LeaderboardPage", "RollupResponse", "TenantConfig", "ErrorBody" })
            schemas.ContainsKey(schema).ShouldBeTrue(schema);
        doc["components"]!["securitySchemes"]!["bearer"]!["scheme"]!.GetValue<string>().ShouldBe("bearer");

        var page = paths["/v1/leaderboards/{measure}"]!["get"]!;
        var limit = page["parameters"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "limit")!;
        limit["schema"]!.ToJsonString().ShouldContain("integer");
        page["responses"]!["200"]!.ToJsonString().ShouldContain("LeaderboardPage");
        page["responses"]!["400"]!.ToJsonString().ShouldContain("ErrorBody");
        paths["/v1/events"]!["post"]!["requestBody"]!.ToJsonString().ShouldContain("IngestRequest");
    }

    [Fact]
    public async Task numbers_in_the_openapi_document_are_typed_as_numbers_not_strings()
    {
        var doc = JsonNode.Parse(await Fixture.Http.GetStringAsync("/openapi/v1.json"))!;
        var mixed = new List<string>();
        void Walk(JsonNode? node, string at)
        {
            switch (node)
            {
                case JsonObject o:
                    if (o["type"] is JsonArray types)
                    {
                        var names = types.Select(t => (string?)t).ToList();
                        if (names.Contains("string") && (names.Contains("integer") || names.Contains("number"))) mixed.Add(at);
                    }
                    foreach (var (key, child) in o) Walk(child, at + "/" + key);
                    break;
                case JsonArray a:
                    for (var i = 0; i < a.Count; i++) Walk(a[i], $"{at}/{i}");
                    break;
            }
        }
        Walk(doc, "#");
        mixed.ShouldBeEmpty("schemas typed both number and string");

        var limit = doc["paths"]!["/v1/leaderboards/{measure}"]!["get"]!["parameters"]!.AsArray().Single(p => (string)p!["name"]! == "limit")!;
        limit["schema"]!["type"]!.ToJsonString().ShouldBe("\"integer\"");
        limit["schema"]!["pattern"].ShouldBeNull();
    }

    [Fact]
    public async Task every_request_of_the_openapi_document_has_an_example_and_every_answer_a_body_schema()
    {
        var doc = JsonNode.Parse(await Fixture.Http.GetStringAsync("/openapi/v1.json"))!;
        var missing = new List<string>();
        foreach (var (path, item) in doc["paths"]!.AsObject())
            foreach (var (method, op) in item!.AsObject())
            {
                var at = $"{method.ToUpperInvariant()} {path}";
                foreach (var parameter in op!["parameters"]?.AsArray() ?? [])
                    if (parameter!["example"] is null) missing.Add($"{at}: parameter {parameter["name"]} has no example");
                if (op["requestBody"] is { } body)
                    foreach (var (type, media) in body["content"]!.AsObject())
                        if (media!["example"] is null) missing.Add($"{at}: request body {type} has no example");
                foreach (var (status, response) in op["responses"]!.AsObject())
                    if (status != "204" && response!["content"] is null) missing.Add($"{at}: {status} has no body schema");
            }
        missing.ShouldBeEmpty();
    }

    [Fact]
    public async Task every_route_and_method_of_the_openapi_document_is_in_docs_api_md()
    {
        var doc = JsonNode.Parse(await Fixture.Http.GetStringAsync("/openapi/v1.json"))!;
        var contract = await File.ReadAllTextAsync(Path.Combine(Repository.Root, "docs", "api.md"));
        var missing = new List<string>();
        foreach (var (path, item) in doc["paths"]!.AsObject())
            foreach (var (method, _) in item!.AsObject())
            {
                // The contract names routes as "GET /v1/users/{user_id}/stats" (parameters may be spelled {id}).
                var pattern = System.Text.RegularExpressions.Regex.Escape(path).Replace(@"\{", "{");
                pattern = System.Text.RegularExpressions.Regex.Replace(pattern, "{[a-z_]+}", "{[a-z_]+}");
                if (!System.Text.RegularExpressions.Regex.IsMatch(contract, $"{method.ToUpperInvariant()} {pattern}(?![A-Za-z0-9_/{{])"))
                    missing.Add($"{method.ToUpperInvariant()} {path}");
            }
        missing.ShouldBeEmpty("routes served but not described in docs/api.md");
    }

    [Fact]
    public async Task the_reference_page_loads_and_points_at_the_document()
    {
        var response = await Fixture.Http.GetAsync("/docs/");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var html = await response.Content.ReadAsStringAsync();
        html.ShouldContain("openapi/v1.json");
        (await Fixture.Http.GetAsync("/docs/scalar.js")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}
