using System.Text.Json;
using Shouldly;
using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Domain.Config;
using Tally.Domain.Events;
using Tally.Domain.Goals;
using Tally.Domain.Stats;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>Goal completions in a real cluster: recorded exactly once across a silo killed while batches complete goals,
/// the grains' reactivation (replay) and their retries; equal to what the log implies.</summary>
[Collection(ClusterOfItsOwnCollection.Name)]
public class GoalClusterTests : ClusterOfItsOwn
{
    private const string Config = """
        {"time_zone": "America/New_York", "measures": {"co2": {"min": -50, "max": 100}},
         "goals": {"co2_month": {"measure": "co2", "window": "month", "targets": [10, 25, 50, 100, 200]},
                   "co2_day": {"measure": "co2", "window": "day", "targets": [5, 15]},
                   "busy_week": {"measure": "co2", "of": "actions", "window": "week", "targets": [3, 6]},
                   "streak": {"streak": true, "targets": [2, 4, 8]}}}
        """;

    private static readonly TimeZoneInfo Zone = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

    private async Task<HashSet<string>> StoredAsync(string tenant)
    {
        var rows = new HashSet<string>();
        await using var cmd = Fixture.Db.DataSource.CreateCommand(
            "SELECT user_id, goal, level, window_key, completed_at, value FROM goal_completions WHERE tenant_id = $1");
        cmd.Parameters.Add(new() { Value = tenant });
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            rows.Add($"{reader.GetString(0)}|{reader.GetString(1)}|{reader.GetInt32(2)}|{reader.GetString(3)}|{reader.GetFieldValue<DateTimeOffset>(4):O}|{reader.GetDecimal(5)}");
        return rows;
    }

    /// <summary>Every user's completions as the log implies: the user's events applied in commit order to fresh stats.</summary>
    private async Task<HashSet<string>> FromLogAsync(string tenant)
    {
        var plan = new BoardPlan(JsonSerializer.Deserialize<TenantConfig>(Config)!);
        var users = new Dictionary<string, UserStats>();
        var expected = new HashSet<string>();
        await using var cmd = Fixture.Db.DataSource.CreateCommand(
            "SELECT user_id, event_id, action_date, event_timestamp, measures::text FROM user_action_events WHERE tenant_id = $1 ORDER BY event_id");
        cmd.Parameters.Add(new() { Value = tenant });
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var user = reader.GetString(0);
            if (!users.TryGetValue(user, out var stats)) users[user] = stats = new UserStats();
            using var measures = JsonDocument.Parse(reader.GetString(4));
            var values = measures.RootElement.EnumerateObject().Select(m => new MeasureValue(m.Name, m.Value.GetDecimal())).ToArray();
            stats.Apply(reader.GetInt64(1), reader.GetFieldValue<DateOnly>(2),
                new ValidEvent(user, "ride", reader.GetFieldValue<DateTimeOffset>(3), "", values, [], null), plan);
            foreach (var c in stats.Goals.Unrecorded)
                expected.Add($"{user}|{c.Goal}|{c.Level}|{c.WindowKey}|{c.CompletedAt.ToUniversalTime():O}|{c.Value}");
            stats.Goals.MarkRecorded(stats.Goals.Unrecorded.Count);
        }
        return expected;
    }

    [Fact]
    public async Task completions_are_recorded_exactly_once_across_a_silo_kill_and_reactivation_and_equal_the_log()
    {
        var tenant = await Fixture.CreateTenantWithConfigAsync(Config);
        var client = Fixture.Cluster.Client;
        var users = Enumerable.Range(0, 30).Select(i => $"g{i}").ToArray();
        var random = new Random(7);
        var step = ClusterFixture.Now;
        var sent = new List<ValidEvent>();
        for (var s = 0; s < 12; s++)
        {
            step = step.AddHours(random.Next(10, 40));
            Fixture.Time.SetUtcNow(step);
            var batch = new List<ValidEvent>();
            foreach (var user in users)
                for (var i = random.Next(0, 4); i > 0; i--)
                    // Some late (up to two weeks back), some negative: levels must never be revoked nor given twice.
                    batch.Add(TestEvents.Make(user, $"{user}-{s}-{i}", step.AddHours(-random.Next(0, 24 * 14)), [("co2", random.Next(-8, 30))]));
            sent.AddRange(batch);
            var send = client.GetGrain<IIngestGrain>(0).Ingest(tenant, 0, batch.ToArray());
            // The kill lands while this step's batch completes goals; the batch is sent again with the same keys until every event is answered.
            if (s == 6) await Fixture.Cluster.KillSiloAsync(Fixture.Cluster.SecondarySilos[0]);
            var first = await send.ContinueWith(t => t.IsCompletedSuccessfully && t.Result.Durable);
            if (!first)
                await Eventually.WaitFor(async () => (await client.GetGrain<IIngestGrain>(0).Ingest(tenant, 0, batch.ToArray())).Durable,
                    ok => ok, TimeSpan.FromSeconds(90), $"step {s} acknowledged");
        }

        var expected = await FromLogAsync(tenant);
        expected.Count.ShouldBeGreaterThan(100); // the scenario completes plenty of levels
        // Reading a user's goals records every completion computed so far first.
        foreach (var user in users)
        {
            var page = await client.GetGrain<IUserGrain>(UserKey.Format(tenant, user)).GetGoals(0, 0, 1000);
            page.ShouldNotBeNull(user);
        }
        var stored = await StoredAsync(tenant);
        stored.Except(expected).ShouldBeEmpty("recorded but not implied by the log");
        expected.Except(stored).ShouldBeEmpty("implied by the log but not recorded");

        // Every grain again from its saved state and the log (a restart of the rest of the cluster): nothing new, nothing lost.
        await Fixture.Cluster.RestartSiloAsync(Fixture.Cluster.Primary);
        foreach (var user in users)
            await Eventually.WaitFor(() => client.GetGrain<IUserGrain>(UserKey.Format(tenant, user)).GetGoals(0, 0, 1000),
                page => page is not null, TimeSpan.FromSeconds(60), $"{user} readable after the restart");
        (await StoredAsync(tenant)).SetEquals(expected).ShouldBeTrue();

        // A retry of an already acknowledged batch completes nothing again.
        (await client.GetGrain<IIngestGrain>(0).Ingest(tenant, 0, sent.Take(50).ToArray())).Statuses.ShouldAllBe(x => x == EventStatus.Duplicate);
        (await StoredAsync(tenant)).Count.ShouldBe(expected.Count);
    }
}
