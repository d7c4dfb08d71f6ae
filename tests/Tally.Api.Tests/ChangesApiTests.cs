using System.Diagnostics;
using System.Text.Json.Nodes;
using Shouldly;
using Tally.Contracts;
using Tally.Testing;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>The change feed over HTTP (API.md, "Changes and webhooks").</summary>
[Collection(ApiCollection.Name)]
public class ChangesApiTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    /// <summary>A loyalty tenant with missions on the checkpoint window and a badge on the month.</summary>
    internal static JsonObject LoyaltyWithGoals() => new()
    {
        ["time_zone"] = "Europe/Berlin",
        ["measures"] = new JsonObject { ["sales"] = new JsonObject { ["min"] = -500 } },
        ["checkpoint"] = new JsonObject
        {
            ["measure"] = "sales", ["months"] = 1,
            ["tiers"] = new JsonArray(new JsonObject { ["name"] = "bronze", ["threshold"] = 0 }, new JsonObject { ["name"] = "silver", ["threshold"] = 1000 }),
        },
        ["goals"] = new JsonObject
        {
            ["sell_window"] = new JsonObject { ["measure"] = "sales", ["window"] = "checkpoint", ["targets"] = new JsonArray(300, 900) },
            ["sell_month"] = new JsonObject { ["measure"] = "sales", ["window"] = "month", ["targets"] = new JsonArray(100) },
        },
        ["retention"] = new JsonObject { ["raw_events_months"] = 36 },
    };

    internal static JsonObject Sale(string user, string key, string at, decimal sales) => new()
    {
        ["user_id"] = user, ["action"] = "sale", ["measures"] = new JsonObject { ["sales"] = sales }, ["occurred_at"] = at, ["idempotency_key"] = key,
    };

    private async Task<List<JsonObject>> AllChanges(string key, string query = "")
    {
        var all = new List<JsonObject>();
        string? after = null;
        while (true)
        {
            var (status, body) = await Get(key, $"/v1/changes?limit=3{query}{(after is null ? "" : "&after=" + after)}");
            status.ShouldBe(200);
            var page = body!["changes"]!.AsArray().Select(c => c!.AsObject()).ToList();
            if (page.Count == 0) return all;
            all.AddRange(page);
            after = body["next"]!.GetValue<string>();
            after.ShouldBe(page[^1]["id"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task every_tier_entry_and_completion_is_in_the_feed_once_in_order_with_the_same_content()
    {
        var t = await Fixture.CreateTenantAsync(LoyaltyWithGoals());
        (await Post(t.IngestKey, Batch(
            Sale("ana", "a1", "2025-09-01T10:00:00Z", 400),
            Sale("ana", "a2", "2025-09-02T10:00:00Z", 700),
            Sale("ben", "b1", "2025-10-05T10:00:00Z", 150)))).Status.ShouldBe(200);
        // Reads take the decisions due as of now (2025-11-22) and record them; then ana has 4 tier entries (entered,
        // promoted, demoted, kept) and 3 completions, ben 2 entries (entered, kept) and 1 completion.
        var tiers = new Dictionary<string, JsonObject>();
        var goals = new Dictionary<string, JsonObject>();
        foreach (var user in new[] { "ana", "ben" })
        {
            tiers[user] = (await Get(t.ReadKey, $"/v1/users/{user}/tiers")).Body!;
            goals[user] = (await Get(t.ReadKey, $"/v1/users/{user}/goals")).Body!;
        }
        var feed = await AllChanges(t.ReadKey);
        feed.Count.ShouldBe(10);

        // Ids increase (as strings too), and paging with limit=3 gave each change once.
        var ids = feed.Select(c => c["id"]!.GetValue<string>()).ToList();
        ids.ShouldBe(ids.OrderBy(x => x, StringComparer.Ordinal).ToList());
        ids.Distinct().Count().ShouldBe(ids.Count);

        foreach (var user in new[] { "ana", "ben" })
        {
            var tierChanges = feed.Where(c => c["kind"]!.GetValue<string>() == "tier_changed" && c["user_id"]!.GetValue<string>() == user).ToList();
            tierChanges.Select(c => c["data"]!.ToJsonString()).ShouldBe(tiers[user]["entries"]!.AsArray().Select(e => e!.ToJsonString()));
            tierChanges.ShouldAllBe(c => c["at"]!.GetValue<string>() == c["data"]!["at"]!.GetValue<string>());

            var goalChanges = feed.Where(c => c["kind"]!.GetValue<string>() == "goal_completed" && c["user_id"]!.GetValue<string>() == user).ToList();
            goalChanges.Select(c => c["data"]!.ToJsonString()).OrderBy(x => x)
                .ShouldBe(goals[user]["entries"]!.AsArray().Select(e => e!.ToJsonString()).OrderBy(x => x));
            goalChanges.ShouldAllBe(c => c["at"]!.GetValue<string>() == c["data"]!["completed_at"]!.GetValue<string>());
        }
        // Exactly once in PostgreSQL too: one change per row of each table.
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM changes WHERE tenant_id = @t AND kind = 'tier_changed'", ("t", t.Id)))
            .ShouldBe(await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM tier_checkpoints WHERE tenant_id = @t", ("t", t.Id)));
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM changes WHERE tenant_id = @t AND kind = 'goal_completed'", ("t", t.Id)))
            .ShouldBe(await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM goal_completions WHERE tenant_id = @t", ("t", t.Id)));

        // The kinds filter, and a cursor past the end gives nothing and itself back.
        var onlyGoals = await AllChanges(t.ReadKey, "&kinds=goal_completed");
        onlyGoals.ShouldAllBe(c => c["kind"]!.GetValue<string>() == "goal_completed");
        onlyGoals.Count.ShouldBe(feed.Count(c => c["kind"]!.GetValue<string>() == "goal_completed"));
        var (_, end) = await Get(t.ReadKey, $"/v1/changes?after={ids[^1]}");
        end!["changes"]!.AsArray().Count.ShouldBe(0);
        end["next"]!.GetValue<string>().ShouldBe(ids[^1]);
    }

    [Fact]
    public async Task a_long_poll_returns_as_soon_as_a_change_is_recorded()
    {
        var t = await Fixture.CreateTenantAsync(LoyaltyWithGoals());
        var (_, empty) = await Get(t.ReadKey, "/v1/changes");
        var cursor = empty!["next"]!.GetValue<string>();
        var clock = Stopwatch.StartNew();
        var poll = Get(t.ReadKey, $"/v1/changes?after={cursor}&wait=20&kinds=goal_completed");
        await Task.Delay(300); // the poll is waiting when the change comes (a wait that returns at once would also pass below)
        (await Post(t.IngestKey, Batch(Sale("cy", "c1", "2025-11-20T10:00:00Z", 120)))).Status.ShouldBe(200);
        var (status, body) = await poll;
        status.ShouldBe(200);
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
        body!["changes"]!.AsArray().Count.ShouldBeGreaterThan(0);
        body["changes"]![0]!["data"]!["goal"]!.GetValue<string>().ShouldBe("sell_month");
        // A wait with nothing new ends at its timeout with no change and the same cursor.
        var next = body["next"]!.GetValue<string>();
        clock.Restart();
        var (_, none) = await Get(t.ReadKey, $"/v1/changes?after={next}&wait=1&kinds=user_removed");
        clock.Elapsed.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(900));
        none!["changes"]!.AsArray().Count.ShouldBe(0);
        none["next"]!.GetValue<string>().ShouldBe(next);
    }

    [Fact]
    public async Task a_removed_user_is_a_change_and_a_cursor_older_than_what_is_kept_is_410()
    {
        var t = await Fixture.CreateTenantAsync(LoyaltyWithGoals());
        (await Post(t.IngestKey, Batch(Sale("dee", "d1", "2025-11-20T10:00:00Z", 120)))).Status.ShouldBe(200);
        ((int)(await Fixture.Send(HttpMethod.Delete, "/v1/users/dee", t.AdminKey)).StatusCode).ShouldBe(204);
        var feed = await AllChanges(t.ReadKey);
        var removed = feed.Single(c => c["kind"]!.GetValue<string>() == "user_removed");
        removed["user_id"]!.GetValue<string>().ShouldBe("dee");
        removed["data"]!["at"]!.GetValue<string>().ShouldBe(removed["at"]!.GetValue<string>());
        var first = feed[0]["id"]!.GetValue<string>();

        // Nothing is older than keep_days (7): a maintenance run keeps the whole feed.
        await Fixture.Cluster.GetGrain<IMaintenanceGrain>(0).ChangesNow();
        (await AllChanges(t.ReadKey)).Select(c => c["id"]!.GetValue<string>()).ShouldBe(feed.Select(c => c["id"]!.GetValue<string>()));

        // All but the last change recorded are now older than keep_days: the maintenance runner prunes those.
        var last = feed[^1]["id"]!.GetValue<string>();
        await Fixture.Db.ExecuteAsync($"UPDATE changes SET recorded_at = now() - interval '8 days' WHERE tenant_id = '{t.Id}' AND seq < {Convert.ToInt64(last, 16)}");
        (await Fixture.Cluster.GetGrain<IMaintenanceGrain>(0).ChangesNow()).ShouldBeGreaterThanOrEqualTo(feed.Count - 1);
        var (status, body) = await Get(t.ReadKey, $"/v1/changes?after={first}");
        status.ShouldBe(410);
        body!["error"]!["code"]!.GetValue<string>().ShouldBe("cursor_expired");
        // From the oldest kept: the last change, and a cursor that works.
        var (_, fresh) = await Get(t.ReadKey, "/v1/changes");
        fresh!["changes"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).ShouldBe([last]);
        (await Get(t.ReadKey, $"/v1/changes?after={fresh["next"]!.GetValue<string>()}")).Status.ShouldBe(200);
    }

    [Theory]
    [InlineData("after=xyz", "after")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=1001", "limit")]
    [InlineData("kinds=tier_changed,nope", "kinds")]
    [InlineData("wait=31", "wait")]
    [InlineData("wait=-1", "wait")]
    public async Task bad_parameters_are_400_naming_them(string query, string field)
    {
        var t = await Fixture.CreateTenantAsync(LoyaltyWithGoals());
        var (status, body) = await Get(t.ReadKey, "/v1/changes?" + query);
        status.ShouldBe(400);
        body!["error"]!["field"]!.GetValue<string>().ShouldBe(field);
    }

    [Fact]
    public async Task the_feed_is_the_tenants_own_and_needs_a_read_key()
    {
        var a = await Fixture.CreateTenantAsync(LoyaltyWithGoals());
        var b = await Fixture.CreateTenantAsync(LoyaltyWithGoals());
        (await Post(a.IngestKey, Batch(Sale("eve", "e1", "2025-11-20T10:00:00Z", 120)))).Status.ShouldBe(200);
        (await AllChanges(b.ReadKey)).ShouldBeEmpty();
        (await Get(a.IngestKey, "/v1/changes")).Status.ShouldBe(403);
        (await Get(null, "/v1/changes")).Status.ShouldBe(401);
        (await Get(a.AdminKey, "/v1/changes")).Status.ShouldBe(200);
    }
}
