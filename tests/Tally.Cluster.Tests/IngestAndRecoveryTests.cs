using System.Collections.Concurrent;
using Shouldly;
using Tally.Contracts;
using Tally.Domain.Events;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

[Collection(ClusterOfItsOwnCollection.Name)]
public class IngestAndRecoveryTests : ClusterOfItsOwn
{
    private static ValidEvent Event(string user, string key, decimal co2, DateTimeOffset at) =>
        TestEvents.Make(user, key, at, [("co2", co2)]);

    private static readonly DateOnly[] Days = [new(2025, 10, 30), new(2025, 11, 1), new(2025, 11, 20), new(2025, 11, 22)];

    [Fact]
    public async Task killing_a_silo_during_ingest_loses_no_acked_event_and_stats_equal_the_log()
    {
        var tenant = await Fixture.CreateTenantAsync();
        var client = Fixture.Cluster.Client;
        var random = new Random(7);
        var batches = new List<ValidEvent[]>();
        for (var b = 0; b < 60; b++)
        {
            var batch = new ValidEvent[40];
            for (var i = 0; i < batch.Length; i++)
            {
                var day = Days[random.Next(Days.Length)];
                var at = new DateTimeOffset(day.ToDateTime(new TimeOnly(random.Next(24), random.Next(60))), TimeSpan.Zero);
                batch[i] = Event($"u{random.Next(60)}", $"k{b}-{i}", random.Next(1, 10_000) / 100m, at);
            }
            batches.Add(batch);
        }

        var acked = new ConcurrentDictionary<string, byte>();
        var unacked = new ConcurrentQueue<ValidEvent[]>();
        async Task Send(ValidEvent[] batch)
        {
            try
            {
                var result = await client.GetGrain<IIngestGrain>(0).Ingest(tenant, 0, batch);
                if (result.Durable) { foreach (var e in batch) acked[e.IdempotencyKey] = 0; return; }
            }
            catch (Exception) { /* unknown outcome: retried below with the same keys */ }
            unacked.Enqueue(batch);
        }

        var sending = Task.Run(async () =>
        {
            foreach (var chunk in batches.Chunk(4)) await Task.WhenAll(chunk.Select(Send));
        });
        await Eventually.WaitFor(() => Task.FromResult(acked.Count), n => n >= 400, TimeSpan.FromSeconds(60), "some events acked before the kill");
        await Fixture.Cluster.KillSiloAsync(Fixture.Cluster.SecondarySilos[0]);
        await sending;

        // A client retries what it did not see acknowledged, with the same keys, until it is.
        await Eventually.WaitFor(async () =>
        {
            var count = unacked.Count;
            for (var i = 0; i < count && unacked.TryDequeue(out var batch); i++) await Send(batch);
            return unacked.Count;
        }, left => left == 0, TimeSpan.FromSeconds(90), "every batch acknowledged after retries");

        var allKeys = batches.SelectMany(b => b).Select(e => e.IdempotencyKey).ToHashSet();
        acked.Count.ShouldBe(allKeys.Count);
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id = @t", ("t", tenant))).ShouldBe(allKeys.Count);
        (await Fixture.Db.ScalarAsync<long>("SELECT count(DISTINCT idempotency_key) FROM user_action_events WHERE tenant_id = @t", ("t", tenant))).ShouldBe(allKeys.Count);

        // Every user's stats equal a reference computed from the log.
        var reference = new Dictionary<string, (decimal Sum, long Count, decimal Nov)>();
        await using (var cmd = Fixture.Db.DataSource.CreateCommand("""
            SELECT user_id, sum((measures->>'co2')::numeric), count(*),
                   coalesce(sum((measures->>'co2')::numeric) FILTER (WHERE action_date >= '2025-11-01'), 0)
              FROM user_action_events WHERE tenant_id = @t GROUP BY user_id
            """))
        {
            cmd.Parameters.AddWithValue("t", tenant);
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                reference[reader.GetString(0)] = (reader.GetDecimal(1), reader.GetInt64(2), reader.GetDecimal(3));
        }
        var today = new DateOnly(2025, 11, 22).DayNumber;
        foreach (var (user, expected) in reference)
        {
            var stats = await client.GetGrain<IUserGrain>(UserKey.Format(tenant, user)).GetStats(0, today);
            stats.ShouldNotBeNull();
            stats.Measures["co2"].AllTime.ShouldBe(expected.Sum, $"all_time of {user}");
            stats.Measures["co2"].Month.ShouldBe(expected.Nov, $"month of {user}");
            stats.Actions.ShouldBe(expected.Count, $"actions of {user}");
        }
    }

    [Fact]
    public async Task duplicates_across_a_silo_restart_count_once()
    {
        var tenant = await Fixture.CreateTenantAsync();
        var client = Fixture.Cluster.Client;
        var at = ClusterFixture.Now.AddHours(-1);
        var events = Enumerable.Range(0, 40).Select(i => Event($"u{i % 20}", $"dup-{i}", 1.5m, at)).ToArray();

        var first = await client.GetGrain<IIngestGrain>(0).Ingest(tenant, 0, events);
        first.Statuses.ShouldAllBe(s => s == EventStatus.Accepted);

        // Half the users live on the killed silo; they come back on the other one from storage and the log.
        await Fixture.Cluster.KillSiloAsync(Fixture.Cluster.SecondarySilos[0]);

        var again = await Eventually.WaitFor(() => client.GetGrain<IIngestGrain>(0).Ingest(tenant, 0, events),
            r => r.Durable, TimeSpan.FromSeconds(60), "the cluster to accept calls after the kill");
        again.Statuses.ShouldAllBe(s => s == EventStatus.Duplicate);

        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id = @t", ("t", tenant))).ShouldBe(40);
        // User state is saved on its own schedule (every second in these tests).
        await Eventually.WaitFor(() => Fixture.Db.ScalarAsync<long>(
                "SELECT count(*) FROM user_state WHERE tenant_id = @t", ("t", tenant)),
            n => n == 20, TimeSpan.FromSeconds(30), "all 20 users' state persisted");
        for (var u = 0; u < 20; u++)
        {
            var stats = await client.GetGrain<IUserGrain>(UserKey.Format(tenant, $"u{u}")).GetStats(0, null);
            stats!.Measures["co2"].AllTime.ShouldBe(3.0m);
            stats.Actions.ShouldBe(2);
        }
    }

    [Fact]
    public async Task the_same_key_for_two_users_is_accepted_once()
    {
        var tenant = await Fixture.CreateTenantAsync();
        var at = ClusterFixture.Now.AddHours(-1);
        var result = await Fixture.Cluster.Client.GetGrain<IIngestGrain>(0)
            .Ingest(tenant, 0, [Event("a", "shared", 1m, at), Event("b", "shared", 1m, at)]);
        result.Statuses.Count(s => s == EventStatus.Accepted).ShouldBe(1);
        result.Statuses.Count(s => s == EventStatus.Duplicate).ShouldBe(1);
    }
}
