using System.Text.Json.Nodes;
using Shouldly;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>DELETE /v1/users/{id}: the user leaves every board and rollup and reads 404; the log keeps the events
/// (their keys stay claimed); later events count afresh; only the tenant's admin key may do it (decision 012).</summary>
[Collection(ApiCollection.Name)]
public class UserRemovalTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private const string Board = "/v1/leaderboards/co2_saved_kg?scope=global&period=all_time";
    private const string Rollup = "/v1/rollups/co2_saved_kg?scope=global&period=all_time";

    private Task<HttpResponseMessage> Delete(string key, string user) => Fixture.Send(HttpMethod.Delete, $"/v1/users/{user}", key);

    [Fact]
    public async Task a_removed_user_leaves_boards_and_rollups_reads_404_and_later_events_count_afresh()
    {
        var tenant = await Fixture.CreateTenantAsync();
        var (status, _) = await Post(tenant.IngestKey, Batch(Event("u1", "a", 10m), Event("u2", "b", 40m), Event("u2", "c", 2.5m), Event("u3", "d", 20m)));
        status.ShouldBe(200);
        await Eventually.WaitFor(() => Get(tenant.ReadKey, Rollup), r => (long?)r.Body?["users"] == 3, TimeSpan.FromSeconds(15), "three users in the rollup");

        var response = await Delete(tenant.AdminKey, "u2");
        ((int)response.StatusCode).ShouldBe(204, await response.Content.ReadAsStringAsync());

        (await Get(tenant.ReadKey, "/v1/users/u2/stats")).Status.ShouldBe(404);
        await Eventually.WaitFor(() => Get(tenant.ReadKey, Board), r => (long?)r.Body?["members"] == 2, TimeSpan.FromSeconds(5), "u2 off the board");
        var (_, page) = await Get(tenant.ReadKey, Board);
        page!["entries"]!.AsArray().Select(e => (string)e!["user_id"]!).ShouldBe(["u3", "u1"]);
        page["entries"]!.AsArray().Select(e => (long)e!["rank"]!).ShouldBe([1L, 2]);
        var (_, rollup) = await Get(tenant.ReadKey, Rollup);
        ((decimal)rollup!["total"]!).ShouldBe(30m);
        ((long)rollup["users"]!).ShouldBe(2);
        ((long)rollup["actions"]!).ShouldBe(2);
        (await Get(tenant.ReadKey, "/v1/leaderboards/co2_saved_kg/users/u2?scope=global&period=all_time")).Status.ShouldBe(404);

        // The log keeps the events: their keys are still taken. A new event counts from zero.
        var (_, again) = await Post(tenant.IngestKey, Batch(Event("u2", "b", 40m), Event("u2", "e", 1.25m)));
        again["results"]!.AsArray().Select(r => (string)r!["status"]!).ShouldBe(["duplicate", "accepted"]);
        var (statsStatus, stats) = await Get(tenant.ReadKey, "/v1/users/u2/stats");
        statsStatus.ShouldBe(200);
        ((long)stats!["actions"]!).ShouldBe(1);
        ((decimal)stats["measures"]!["co2_saved_kg"]!["all_time"]!).ShouldBe(1.25m);
        await Eventually.WaitFor(() => Get(tenant.ReadKey, Rollup), r => (decimal?)r.Body?["total"] == 31.25m, TimeSpan.FromSeconds(5), "u2's new event in the rollup");
    }

    [Fact]
    public async Task removing_twice_is_harmless_an_unknown_user_is_404_and_only_the_admin_key_may_remove()
    {
        var tenant = await Fixture.CreateTenantAsync();
        (await Post(tenant.IngestKey, Batch(Event("u1", "a", 10m)))).Status.ShouldBe(200);

        ((int)(await Delete(tenant.ReadKey, "u1")).StatusCode).ShouldBe(403);
        ((int)(await Delete(tenant.IngestKey, "u1")).StatusCode).ShouldBe(403);
        (await Get(tenant.ReadKey, "/v1/users/u1/stats")).Status.ShouldBe(200, "a refused removal changes nothing");

        ((int)(await Delete(tenant.AdminKey, "u1")).StatusCode).ShouldBe(204);
        ((int)(await Delete(tenant.AdminKey, "u1")).StatusCode).ShouldBe(204, "the removal is idempotent");
        var unknown = await Delete(tenant.AdminKey, "nobody");
        ((int)unknown.StatusCode).ShouldBe(404);
        var body = JsonNode.Parse(await unknown.Content.ReadAsStringAsync())!;
        ((string)body["error"]!["code"]!).ShouldBe("user_not_found");
    }
}
