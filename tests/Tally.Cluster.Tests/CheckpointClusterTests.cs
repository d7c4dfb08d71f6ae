using System.Collections.Concurrent;
using Shouldly;
using Tally.Contracts;
using Tally.Domain.Checkpoints;
using Tally.Domain.Config;
using Tally.Domain.Events;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>Tier timelines in a real cluster: the scheduler, tier history in PostgreSQL, recovery after a silo kill.</summary>
[Collection(ClusterOfItsOwnCollection.Name)]
public class CheckpointClusterTests : ClusterOfItsOwn
{
    private const string Config = """
        {"time_zone": "Europe/Berlin", "measures": {"sales": {"min": 0}, "units": {"min": 0}},
         "checkpoint": {"measure": "sales", "months": 1, "downgrade": "one_tier",
                        "tiers": [{"name": "bronze", "threshold": 0}, {"name": "silver", "threshold": 100}, {"name": "gold", "threshold": 500}]},
         "retention": {"raw_events_months": 36}}
        """;

    private static CheckpointRules Rules() => new(new CheckpointConfig
    {
        Measure = "sales", Months = 1, Downgrade = "one_tier",
        Tiers = [new() { Name = "bronze", Threshold = 0 }, new() { Name = "silver", Threshold = 100 }, new() { Name = "gold", Threshold = 500 }],
    }, TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"), ["sales", "units"]);

    private static ValidEvent Sale(string user, string key, DateTimeOffset at, decimal sales) => TestEvents.Make(user, key, at, [("sales", sales), ("units", 1m)]);

    private async Task<string[]> StoredHistory(string tenant, string user)
    {
        var rows = new List<string>();
        await using var cmd = Fixture.Db.DataSource.CreateCommand(
            "SELECT seq, reason, to_tier, at FROM tier_checkpoints WHERE tenant_id = $1 AND user_id = $2 ORDER BY seq");
        cmd.Parameters.Add(new() { Value = tenant });
        cmd.Parameters.Add(new() { Value = user });
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) rows.Add($"{reader.GetInt32(0)}:{reader.GetString(1)}:{reader.GetString(2)}:{reader.GetFieldValue<DateTimeOffset>(3):O}");
        return rows.ToArray();
    }

    private static string[] Expected(CheckpointTimeline timeline) =>
        timeline.History.Select((h, i) => $"{i}:{Tally.Grains.UserGrain.ReasonName(h.Reason)}:{h.To}:{h.At.ToUniversalTime():O}").ToArray();

    [Fact]
    public async Task users_with_no_further_events_reach_their_checkpoint_and_its_history_is_stored_within_a_minute()
    {
        var tenant = await Fixture.CreateTenantWithConfigAsync(Config);
        var client = Fixture.Cluster.Client;
        var start = ClusterFixture.Now;
        Fixture.Time.SetUtcNow(start);
        var users = Enumerable.Range(0, 30).Select(i => $"quiet-{i}").ToArray();
        var events = users.Select((u, i) => Sale(u, $"q{i}", start.AddMinutes(-i), i % 3 == 0 ? 600m : 20m)).ToArray();
        (await client.GetGrain<IIngestGrain>(0).Ingest(tenant, 0, events)).Durable.ShouldBeTrue();
        // Their due instants reach the index with their saved state (saved every second here).
        await Eventually.WaitFor(() => Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_state WHERE tenant_id = @t AND checkpoint_due_at IS NOT NULL", ("t", tenant)),
            n => n == users.Length, TimeSpan.FromSeconds(30), "every user's due instant indexed");

        // A month passes with no event and no read: the scheduler alone must decide every window.
        var decisionAt = start.AddMonths(1);
        Fixture.Time.SetUtcNow(decisionAt.AddSeconds(1));
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        await Eventually.WaitFor(() => Fixture.Db.ScalarAsync<long>(
                "SELECT count(*) FROM tier_checkpoints WHERE tenant_id = @t AND reason IN ('kept', 'demoted')", ("t", tenant)),
            n => n == users.Length, TimeSpan.FromMinutes(1), "a kept or demoted entry for every user");
        DateTime.UtcNow.ShouldBeLessThan(deadline);
        // Gold users (promoted at once) fall to silver; bronze users stay.
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM tier_checkpoints WHERE tenant_id = @t AND reason = 'demoted' AND from_tier = 'gold' AND to_tier = 'silver'",
            ("t", tenant))).ShouldBe(10);
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM tier_checkpoints WHERE tenant_id = @t AND reason = 'kept' AND to_tier = 'bronze'", ("t", tenant))).ShouldBe(20);
        // Each entry once, and the next due instant moved on a month.
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM tier_checkpoints WHERE tenant_id = @t", ("t", tenant))).ShouldBe(30 + 10 + 30);
        await Eventually.WaitFor(() => Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_state WHERE tenant_id = @t AND checkpoint_due_at <= @now",
                ("t", tenant), ("now", decisionAt.AddSeconds(1).UtcDateTime)),
            n => n == 0, TimeSpan.FromSeconds(30), "no user still due");
    }

    [Fact]
    public async Task after_a_silo_kill_every_timeline_and_its_stored_history_equal_what_the_log_implies()
    {
        var tenant = await Fixture.CreateTenantWithConfigAsync(Config);
        var client = Fixture.Cluster.Client;
        var rules = Rules();
        var users = Enumerable.Range(0, 24).Select(i => $"c{i}").ToArray();
        var reference = users.ToDictionary(u => u, _ => new CheckpointTimeline());
        var random = new Random(3);
        var step = ClusterFixture.Now; // business time only moves forward
        for (var s = 0; s < 14; s++)
        {
            step = step.AddDays(random.Next(5, 25));
            Fixture.Time.SetUtcNow(step);
            if (s == 7) await Fixture.Cluster.KillSiloAsync(Fixture.Cluster.SecondarySilos[0]);
            var batches = new ConcurrentDictionary<string, ValidEvent[]>();
            foreach (var user in users)
            {
                if (random.Next(3) == 0) continue; // some users are quiet this step
                batches[user] = Enumerable.Range(0, random.Next(1, 4))
                    .Select(i => Sale(user, $"{user}-{s}-{i}", step.AddHours(-random.Next(0, 24 * 30)), random.Next(0, 12) * 25m)).ToArray();
            }
            // Retried with the same keys until acknowledged (the kill makes some calls fail).
            await Eventually.WaitFor(async () =>
            {
                var all = batches.Values.SelectMany(b => b).ToArray();
                var result = await client.GetGrain<IIngestGrain>(0).Ingest(tenant, 0, all);
                return result.Durable;
            }, ok => ok, TimeSpan.FromSeconds(90), $"step {s} acknowledged");
            foreach (var (user, batch) in batches) reference[user].ApplyBatch(batch, step, rules);
        }
        var now = step.AddDays(40);
        Fixture.Time.SetUtcNow(now);
        foreach (var user in users)
        {
            reference[user].Advance(now, rules);
            var page = await client.GetGrain<IUserGrain>(UserKey.Format(tenant, user)).GetTiers(0, 0, 1000);
            page.ShouldNotBeNull(user);
            page.Entries.Select((e, i) => $"{i}:{e.Reason}:{e.To}:{e.At.ToUniversalTime():O}").ShouldBe(Expected(reference[user]), user);
            await Eventually.WaitFor(() => StoredHistory(tenant, user), rows => rows.Length == reference[user].History.Count, TimeSpan.FromSeconds(20), $"{user}'s history stored");
            (await StoredHistory(tenant, user)).ShouldBe(Expected(reference[user]), user);
        }
    }
}
