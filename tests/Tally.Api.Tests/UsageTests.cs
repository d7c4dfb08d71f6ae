using System.Globalization;
using System.Text.Json.Nodes;
using Shouldly;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>GET /v1/usage: per arrival day and outcome, rejections by code, active users; summed over both API
/// instances; a tenant sees itself, the cluster admin every tenant.</summary>
[Collection(ApiCollection.Name)]
public class UsageTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    [Fact]
    public async Task usage_counts_every_outcome_by_day_and_code_across_api_instances()
    {
        var tenant = await Fixture.CreateTenantAsync();
        var today = Fixture.Clock.GetUtcNow().UtcDateTime;
        var month = today.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var day = today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

        var tooMuch = Event("u3", "bad", 1m);
        tooMuch["measures"] = new JsonObject { ["co2_saved_kg"] = -5 };
        var (status, _) = await Post(tenant.IngestKey, Batch(Event("u1", "a"), Event("u2", "b"), tooMuch));
        status.ShouldBe(200);
        (status, _) = await Post(tenant.IngestKey, Batch(Event("u1", "a")));
        status.ShouldBe(200);
        var second = await Fixture.Http2.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/events")
        {
            Headers = { Authorization = new("Bearer", tenant.IngestKey) },
            Content = new StringContent(Batch(Event("u1", "c")).ToJsonString(), System.Text.Encoding.UTF8, "application/json"),
        });
        ((int)second.StatusCode).ShouldBe(200);

        var (_, usage) = await Eventually.WaitFor(() => Get(tenant.ReadKey, $"/v1/usage?month={month}"),
            r => (long?)r.Body?["events_accepted"] == 3 && (long?)r.Body?["events_rejected"] == 1 && (long?)r.Body?["events_duplicate"] == 1,
            TimeSpan.FromSeconds(15), "the counts of both API instances");
        ((string)usage!["tenant"]!).ShouldBe(tenant.Id);
        ((string)usage["month"]!).ShouldBe(month);
        ((long)usage["active_users"]!).ShouldBe(2);
        var codes = usage["rejected_by_code"]!.AsObject();
        codes.Count.ShouldBe(1);
        ((long)codes.Single().Value!).ShouldBe(1);
        var entry = usage["days"]!.AsArray().Single(d => (string)d!["day"]! == day)!;
        ((long)entry["events_accepted"]!).ShouldBe(3);
        ((long)entry["events_rejected"]!).ShouldBe(1);
        usage["days"]!.AsArray().Select(d => (long)d!["events_accepted"]!).Sum().ShouldBe(3);

        // Without month: the current one. The cluster admin sees every tenant, this one included.
        ((string)(await Get(tenant.ReadKey, "/v1/usage")).Body!["month"]!).ShouldBe(month);
        var (adminStatus, all) = await Get(ApiFixture.AdminKey, $"/v1/usage?month={month}");
        adminStatus.ShouldBe(200);
        var mine = all!["tenants"]!.AsArray().Single(t => (string)t!["tenant"]! == tenant.Id)!;
        ((long)mine["events_accepted"]!).ShouldBe(3);
    }

    [Theory]
    [InlineData("2026-13")]
    [InlineData("2026-1")]
    [InlineData("november")]
    public async Task a_bad_month_is_a_400_naming_it(string month)
    {
        var tenant = await Fixture.CreateTenantAsync();
        var (status, body) = await Get(tenant.ReadKey, $"/v1/usage?month={month}");
        status.ShouldBe(400);
        ((string)body!["error"]!["field"]!).ShouldBe("month");
    }

    [Fact]
    public async Task an_ingest_key_may_not_read_usage_and_other_tenants_do_not_show()
    {
        var tenant = await Fixture.CreateTenantAsync();
        var other = await Fixture.CreateTenantAsync();
        (await Post(other.IngestKey, Batch(Event("x", "k")))).Status.ShouldBe(200);
        (await Get(tenant.IngestKey, "/v1/usage")).Status.ShouldBe(403);
        await Eventually.WaitFor(() => Get(other.ReadKey, "/v1/usage"), r => (long?)r.Body?["events_accepted"] == 1, TimeSpan.FromSeconds(15), "the other tenant's event counted");
        var (status, body) = await Get(tenant.ReadKey, "/v1/usage");
        status.ShouldBe(200);
        ((string)body!["tenant"]!).ShouldBe(tenant.Id);
        ((long)body["events_accepted"]!).ShouldBe(0);
    }
}
