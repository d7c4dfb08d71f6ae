using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Npgsql;
using Shouldly;
using Tally.Cli.Profiles;
using Tally.Cli.Tests;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary><c>tally demo</c> and <c>tally import</c> against a real API: loaded through /v1/events, reruns add nothing.</summary>
[Collection(ApiCollection.Name)]
public partial class DemoAndImportTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private string Url => Fixture.Http.BaseAddress!.ToString();

    [Theory]
    [InlineData("climate")]
    [InlineData("learning")]
    [InlineData("analytics")]
    [InlineData("loyalty")]
    [InlineData("events_log")]
    public async Task demo_loads_the_profile_prints_requests_that_answer_and_a_rerun_adds_nothing(string profile)
    {
        var tenant = "demo-" + Guid.NewGuid().ToString("N")[..8];
        string[] args = ["demo", "--url", Url, "--admin-key", ApiFixture.AdminKey, "--profile", profile, "--tenant", tenant,
            "--users", "5", "--days", "20", "--until", "2025-11-22T11:00:00Z"];
        var (exit, output, error) = await CliRun.RunAsync(args);
        exit.ShouldBe(0, output + error);
        var total = long.Parse(TotalLine().Match(output).Groups[1].Value.Replace(",", ""));
        total.ShouldBeGreaterThan(0);

        var usage = await Eventually.WaitFor(() => Get(ApiFixture.AdminKey, "/v1/usage?month=2025-11"),
            r => Usage(r.Body, tenant, "events_accepted") == total, TimeSpan.FromSeconds(30), $"{total} events accepted");

        // Every printed request answers 200 with the printed key.
        var requests = CurlLine().Matches(output);
        requests.Count.ShouldBe(SeedProfiles.Get(profile).ExampleRequests("u").Length);
        requests.Count.ShouldBeGreaterThanOrEqualTo(3);
        foreach (Match request in requests)
        {
            using var message = new HttpRequestMessage(HttpMethod.Get, request.Groups[2].Value);
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", request.Groups[1].Value);
            var response = await new HttpClient().SendAsync(message);
            ((int)response.StatusCode).ShouldBe(200, $"{request.Groups[2].Value}: {await response.Content.ReadAsStringAsync()}");
        }

        if (profile == "events_log")
        {
            // Raw events through /v1/collect: sessions on several sites of one agency tenant, with the sender's agent.
            var raw = await Fixture.Db.ScalarAsync<string>("""
                SELECT concat_ws(',', count(DISTINCT payload ->> 'site_id'), count(DISTINCT payload ->> 'session_id') > 5,
                       count(*) FILTER (WHERE payload ? 'user_agent' AND payload ? 'url' AND payload ? 'event_type'), count(DISTINCT action))
                  FROM user_action_events WHERE tenant_id = @t
                """, ("t", tenant));
            raw.ShouldBe($"3,t,{total},3", "sites, sessions, raw fields on every event, page_view/click/scroll");
        }

        // The same command again: every event a duplicate, nothing added.
        (exit, output, error) = await CliRun.RunAsync(args);
        exit.ShouldBe(0, output + error);
        usage = await Eventually.WaitFor(() => Get(ApiFixture.AdminKey, "/v1/usage?month=2025-11"),
            r => Usage(r.Body, tenant, "events_duplicate") == total, TimeSpan.FromSeconds(30), $"{total} duplicates on the rerun");
        Usage(usage.Body, tenant, "events_accepted").ShouldBe(total);
    }

    [Fact]
    public async Task import_loads_good_rows_reports_bad_ones_by_line_and_field_and_a_rerun_imports_nothing_twice()
    {
        var t = await Fixture.CreateTenantAsync(SeedProfiles.Get("climate").Config());
        var file = Path.Combine(Path.GetTempPath(), $"import-{t.Id}.csv");
        var errors = file + ".errors.csv";
        await File.WriteAllTextAsync(file, """
            user_id,action_id,event_timestamp,co2_saved_kg,country,quantity,notes
            alice,bike_commute,2025-11-20T08:00:00Z,2.5,US,2,"first, ride"
            alice,recycling,2025-11-21 09:30:00,0.75,US,1,
            bob,bike_commute,2025-11-21T10:00:00+01:00,abc,DE,1,bad number
            bob,bike_commute,2025-11-21T10:00:00Z,999999,DE,1,out of range
            ,bike_commute,2025-11-21T10:00:00Z,1,DE,1,no user
            carol,led_bulb,not a date,1,FR,1,
            carol,led_bulb,2025-11-21T11:00:00Z,0.2,fr,1,lowercase country
            carol,led_bulb,2025-11-21T11:00:00Z,0.2,FR,1,
            carol,led_bulb,2025-11-21T11:00:00Z,0.2,FR,1,

            """.Replace("\r\n", "\n"));
        string[] args = ["import", "--url", Url, "--admin-key", ApiFixture.AdminKey, "--tenant", t.Id, "--from", file, "--errors", errors];
        var (exit, output, _) = await CliRun.RunAsync(args);
        exit.ShouldBe(1, output); // some rows were skipped
        output.ShouldContain("line 4, column co2_saved_kg (measures.co2_saved_kg): invalid_number");
        output.ShouldContain("line 5, column co2_saved_kg (measures.co2_saved_kg): measure_out_of_range");
        output.ShouldContain("line 6, column user_id (user_id)");
        output.ShouldContain("line 7, column event_timestamp (occurred_at): invalid_timestamp");
        output.ShouldContain("line 8, column country (dims.country)");
        (await File.ReadAllLinesAsync(errors)).Length.ShouldBe(6);

        await ExpectImported(t);
        (exit, output, _) = await CliRun.RunAsync(args);
        exit.ShouldBe(1);
        await ExpectImported(t);
    }

    private async Task ExpectImported(TestTenant t)
    {
        var (_, alice) = await Get(t.ReadKey, "/v1/users/alice/stats");
        alice!["measures"]!["co2_saved_kg"]!["all_time"]!.GetValue<decimal>().ShouldBe(3.25m);
        alice["actions"]!.GetValue<long>().ShouldBe(2);
        var (_, carol) = await Get(t.ReadKey, "/v1/users/carol/stats");
        carol!["measures"]!["co2_saved_kg"]!["all_time"]!.GetValue<decimal>().ShouldBe(0.4m); // two identical rows: two events
        (await Get(t.ReadKey, "/v1/users/bob/stats")).Status.ShouldBe(404);

        await using var db = NpgsqlDataSource.Create(Fixture.Db.ConnectionString);
        await using var cmd = db.CreateCommand("SELECT count(*), max(payload::text) FILTER (WHERE action = 'bike_commute') FROM user_action_events WHERE tenant_id = $1");
        cmd.Parameters.AddWithValue(t.Id);
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        reader.GetInt64(0).ShouldBe(4);
        JsonNode.DeepEquals(JsonNode.Parse(reader.GetString(1)), JsonNode.Parse("""{"quantity": 2, "notes": "first, ride"}""")).ShouldBeTrue(reader.GetString(1));
    }

    private static long? Usage(JsonObject? all, string tenant, string field) =>
        all?["tenants"]?.AsArray().FirstOrDefault(x => (string?)x!["tenant"] == tenant)?[field]?.GetValue<long>();

    [GeneratedRegex(@"days, ([\d,]+) events")]
    private static partial Regex TotalLine();

    [GeneratedRegex(@"curl -s -H 'Authorization: Bearer ([^']+)' '([^']+)'")]
    private static partial Regex CurlLine();
}
