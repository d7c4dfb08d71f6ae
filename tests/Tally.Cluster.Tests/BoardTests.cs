using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Metadata;
using Orleans.TestingHost;
using Shouldly;
using Tally.Contracts;
using Tally.Domain.Boards;
using Tally.Domain.Events;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

[Collection(ClusterOfItsOwnCollection.Name)]
public class BoardTests : ClusterOfItsOwn
{
    private const string Config = """
        {"time_zone":"America/New_York","measures":{"co2":{"min":0},"sales":{"min":0}},"dimensions":["country","org"],
         "leaderboards":{"measures":["co2"],"scopes":["global","country"],"periods":["all_time","year","month","week","day"]},
         "rollups":{"scopes":["global","country"],"periods":["all_time","year","month","day"]},
         "board_shards":3}
        """;

    private static readonly string[] Scopes = ["global", "country"];
    private static readonly PeriodKind[] AllPeriods = [PeriodKind.AllTime, PeriodKind.Year, PeriodKind.Month, PeriodKind.Week, PeriodKind.Day];

    private IBoardQueryGrain Query => Fixture.Cluster.Client.GetGrain<IBoardQueryGrain>(0);

    /// <summary>Random events over late October and November, small integer values (so ties are common),
    /// some without a country, some resent with the same key.</summary>
    private static List<ValidEvent[]> Workload(int seed, int batches, string keyPrefix)
    {
        var random = new Random(seed);
        string[] countries = ["US", "DE", "FR"];
        var result = new List<ValidEvent[]>();
        var sent = new List<ValidEvent>();
        for (var b = 0; b < batches; b++)
        {
            var batch = new ValidEvent[30];
            for (var i = 0; i < batch.Length; i++)
            {
                if (sent.Count > 0 && random.Next(10) == 0)
                {
                    batch[i] = sent[random.Next(sent.Count)];
                    continue;
                }
                var at = ClusterFixture.Now.AddHours(-random.Next(0, 26 * 24));
                var co2 = random.Next(0, 4);
                var sales = random.Next(1, 50) * 1.25m;
                var hasCountry = random.Next(4) != 0;
                var country = countries[random.Next(countries.Length)];
                batch[i] = TestEvents.Make($"u{random.Next(40)}", $"{keyPrefix}{b}-{i}", at, [("co2", co2), ("sales", sales)],
                    hasCountry ? [("country", country), ("org", $"o{random.Next(2)}")] : null);
                sent.Add(batch[i]);
            }
            result.Add(batch);
        }
        return result;
    }

    private async Task SendAllAsync(string tenant, IEnumerable<ValidEvent[]> batches)
    {
        var pending = new ConcurrentQueue<ValidEvent[]>(batches);
        await Eventually.WaitFor(async () =>
        {
            var round = pending.Count;
            for (var i = 0; i < round && pending.TryDequeue(out var batch); i++)
            {
                try
                {
                    var result = await Fixture.Cluster.Client.GetGrain<IIngestGrain>(0).Ingest(tenant, 0, batch);
                    if (!result.Durable) pending.Enqueue(batch);
                }
                catch (Exception)
                {
                    pending.Enqueue(batch);
                }
            }
            return pending.Count;
        }, left => left == 0, TimeSpan.FromSeconds(90), "every batch acknowledged");
    }

    /// <summary>Waits until every board page, rank and rollup of the tenant equals the log's reference.</summary>
    private async Task AssertConvergedAsync(string tenant)
    {
        var reference = await BoardReference.FromLogAsync(Fixture.Db.DataSource, tenant, Scopes, AllPeriods);
        reference.Boards.Count.ShouldBeGreaterThan(20);
        await Eventually.WaitFor(() => DifferencesAsync(tenant, reference), d => d.Count == 0, TimeSpan.FromSeconds(30),
            "boards and rollups equal to the reference");
    }

    private async Task<List<string>> DifferencesAsync(string tenant, BoardReference reference)
    {
        var differences = new List<string>();
        foreach (var key in reference.Boards.Keys)
        {
            if (key.Measure == "co2")
            {
                var expected = reference.Ranking(key);
                var page = await Query.Page(tenant, 0, key, 0, 1000);
                if (page.Members != expected.Count) differences.Add($"{key}: members {page.Members} != {expected.Count}");
                var actual = page.Entries.Select(e => (e.UserId, e.Score)).ToList();
                if (!actual.SequenceEqual(expected)) differences.Add($"{key}: page differs");
                for (var i = 0; i < page.Entries.Length; i++)
                    if (page.Entries[i].Rank != i + 1) differences.Add($"{key}: rank {page.Entries[i].Rank} at {i}");
            }
            if (key.Period != PeriodKind.Week)
            {
                var (total, users, actions) = reference.Rollup(key);
                var rollup = await Query.Rollup(tenant, 0, key);
                if (rollup.Total != total || rollup.Users != users || rollup.Actions != actions)
                    differences.Add($"{key}: rollup ({rollup.Total}, {rollup.Users}, {rollup.Actions}) != ({total}, {users}, {actions})");
            }
        }
        return differences;
    }

    [Fact]
    public async Task pages_ranks_around_me_and_rollups_equal_a_reference_built_from_the_log()
    {
        var tenant = await Fixture.CreateTenantWithConfigAsync(Config);
        await SendAllAsync(tenant, Workload(11, 30, "k"));
        await AssertConvergedAsync(tenant);

        var reference = await BoardReference.FromLogAsync(Fixture.Db.DataSource, tenant, Scopes, AllPeriods);
        var allTime = new BoardKey("co2", "global", "", PeriodKind.AllTime, 0);
        var ranking = reference.Ranking(allTime);
        foreach (var position in new[] { 0, 1, ranking.Count / 2, ranking.Count - 1 })
        {
            var (user, score) = ranking[position];
            var standing = await Query.Around(tenant, 0, allTime, user, 2);
            standing.ShouldNotBeNull();
            standing.Rank.ShouldBe(position + 1);
            standing.Score.ShouldBe(score);
            var from = Math.Max(0, position - 2);
            standing.Entries.Select(e => e.UserId).ShouldBe(ranking.Skip(from).Take(position - from + 3).Select(r => r.UserId));

            var stats = await Fixture.Cluster.Client.GetGrain<IUserGrain>(UserKey.Format(tenant, user)).GetStats(0, null);
            stats!.Ranks!["co2"]["global"]["all_time"].ShouldBe(position + 1);
        }
        (await Query.Around(tenant, 0, allTime, "nobody", 2)).ShouldBeNull();

        // A page in the middle is the same slice of the reference.
        var middle = await Query.Page(tenant, 0, allTime, 7, 5);
        middle.Entries.Select(e => e.UserId).ShouldBe(ranking.Skip(7).Take(5).Select(r => r.UserId));
        middle.Entries.Select(e => e.Rank).ShouldBe([8L, 9, 10, 11, 12]);
    }

    [Fact]
    public async Task after_a_silo_is_killed_shards_rebuild_and_converge_to_the_log()
    {
        var tenant = await Fixture.CreateTenantWithConfigAsync(Config);
        var workload = Workload(23, 40, "r");
        await SendAllAsync(tenant, workload.Take(20));
        var maintenance = Fixture.Cluster.Client.GetGrain<IMaintenanceGrain>(0);
        // Saved states now hold every event so far: the rebuilt shards start from them.
        await maintenance.ReconcileNow();

        await Fixture.Cluster.KillSiloAsync(Fixture.Cluster.SecondarySilos[0]);
        await SendAllAsync(tenant, workload.Skip(20));
        await Eventually.WaitFor(() => maintenance.ReconcileNow(), _ => true, TimeSpan.FromSeconds(60), "reconciliation after the kill");
        await AssertConvergedAsync(tenant);
    }

    [Fact]
    public async Task a_tenant_resharded_while_events_arrive_converges_to_the_log_under_the_new_count()
    {
        var tenant = await Fixture.CreateTenantWithConfigAsync(Config); // 3 shards
        var workload = Workload(31, 40, "s");
        await SendAllAsync(tenant, workload.Take(15));
        var maintenance = Fixture.Cluster.Client.GetGrain<IMaintenanceGrain>(0);
        await maintenance.ReconcileNow();

        var sending = SendAllAsync(tenant, workload.Skip(15));
        var report = await Fixture.Cluster.Client.GetGrain<ITenantShardsGrain>(tenant).Reshard(7);
        await sending;
        report.ShouldNotBeNull();
        (report.PreviousShards, report.Shards, report.ShardsRebuilt).ShouldBe((3, 7, 7));
        // Users saving while the count changed wrote their new shard themselves (saves every second here): the run
        // may find none left to move. Every saved state is read.
        report.Users.ShouldBeGreaterThan(0);
        // A cell a silo sent by the old count while the run began is dropped by the shard it reached; reconciliation
        // gives it to the right one, as in production (its interval is an hour here).
        await maintenance.ReconcileNow();
        await AssertConvergedAsync(tenant);

        // Saved states name the new shards, so losing every shard rebuilds the same boards.
        await maintenance.ReconcileNow();
        await using (var cmd = Fixture.Db.DataSource.CreateCommand("SELECT user_id, shard FROM user_state WHERE tenant_id = $1"))
        {
            cmd.Parameters.Add(new() { Value = tenant });
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync()) reader.GetInt32(1).ShouldBe(BoardShards.Of(reader.GetString(0), 7), reader.GetString(0));
        }
        for (var s = 0; s < 7; s++)
            await Fixture.Cluster.Client.GetGrain<IBoardShardGrain>(BoardShards.Key(tenant, s)).Retire();
        await AssertConvergedAsync(tenant);
    }

    [Fact]
    public async Task shards_spread_evenly_over_three_silos_and_a_lost_silos_shards_move_to_the_others()
    {
        var third = await Fixture.Cluster.StartAdditionalSiloAsync();
        await Fixture.Cluster.WaitForLivenessToStabilizeAsync();
        // Placement chooses among the silos whose manifest a silo holds: every silo must know all three first.
        await Eventually.WaitFor(() => Task.FromResult(Fixture.Cluster.Silos.Cast<InProcessSiloHandle>()
                .Select(h => h.SiloHost.Services.GetRequiredService<IClusterManifestProvider>().Current.Silos.Count).Min()),
            n => n == 3, TimeSpan.FromSeconds(30), "every silo's manifest naming three silos");
        var tenant = await Fixture.CreateTenantWithConfigAsync(Config.Replace("\"board_shards\":3", "\"board_shards\":6"));
        var workload = Workload(41, 30, "p");
        await SendAllAsync(tenant, workload.Take(15));
        await AssertConvergedAsync(tenant);
        var shards = Fixture.Cluster.Client.GetGrain<ITenantShardsGrain>(tenant);
        var before = await shards.Placement();
        before.Select(p => p.Shard).ShouldBe([0, 1, 2, 3, 4, 5]);
        var silos = Fixture.Cluster.Silos.Select(h => h.SiloAddress.ToString()).ToArray();
        silos.Length.ShouldBe(3);
        before.GroupBy(p => p.Silo).Select(g => (g.Key, g.Count())).OrderBy(g => g.Key).ShouldBe(silos.Order().Select(s => (s, 2)));
        before.Sum(p => p.Members).ShouldBeGreaterThan(0);

        await Fixture.Cluster.KillSiloAsync(third);
        await SendAllAsync(tenant, workload.Skip(15));
        await Eventually.WaitFor(() => Fixture.Cluster.Client.GetGrain<IMaintenanceGrain>(0).ReconcileNow(), _ => true, TimeSpan.FromSeconds(60), "reconciliation after the kill");
        await AssertConvergedAsync(tenant);
        var after = (await shards.Placement()).ToDictionary(p => p.Shard);
        after.Count.ShouldBe(6);
        foreach (var p in before)
        {
            if (p.Silo == third.SiloAddress.ToString())
            {
                // Lost with its silo: activated again on one of the two left, rebuilt.
                after[p.Shard].Silo.ShouldNotBe(p.Silo);
                after[p.Shard].ActivatedAt.ShouldBeGreaterThan(p.ActivatedAt);
            }
            else
            {
                // On a silo that lived it stays there. It usually keeps its activation too, but Orleans deactivates an
                // activation whose grain-directory entry was on the lost silo, so that is not asserted.
                after[p.Shard].Silo.ShouldBe(p.Silo);
            }
        }
    }

    [Fact]
    public async Task redelivered_and_stale_updates_change_nothing()
    {
        var tenant = await Fixture.CreateTenantWithConfigAsync(Config);
        await SendAllAsync(tenant, Workload(5, 10, "d"));
        await AssertConvergedAsync(tenant);

        var user = "u3";
        var update = await Fixture.Cluster.Client.GetGrain<IUserGrain>(UserKey.Format(tenant, user)).Republish();
        var shard = Fixture.Cluster.Client.GetGrain<IBoardShardGrain>(BoardShards.Key(tenant, BoardShards.Of(user, 3)));
        (await shard.Apply(new BoardUpdateBatch([update, update], 0))).ShouldBe(0);
        var stale = update with { Cells = update.Cells.Select(c => c with { Cell = c.Cell with { Score = c.Cell.Score + 1000, Version = c.Cell.Version - 1 } }).ToArray() };
        (await shard.Apply(new BoardUpdateBatch([stale], 0))).ShouldBe(0);
        (await DifferencesAsync(tenant, await BoardReference.FromLogAsync(Fixture.Db.DataSource, tenant, Scopes, AllPeriods))).ShouldBeEmpty();
    }

    [Fact]
    public async Task periods_roll_over_at_the_tenants_midnight_week_and_month()
    {
        // Auckland is UTC+13 in November: local Sunday 30 Nov 23:30 and Monday 1 Dec 00:30.
        var tenant = await Fixture.CreateTenantWithConfigAsync(Config.Replace("America/New_York", "Pacific/Auckland"));
        var sunday = DateTimeOffset.Parse("2025-11-30T23:30:00+13:00");
        var monday = DateTimeOffset.Parse("2025-12-01T00:30:00+13:00");
        Fixture.Time.SetUtcNow(DateTimeOffset.Parse("2025-11-30T23:50:00+13:00"));
        ValidEvent Ride(string user, DateTimeOffset at, string key) =>
            TestEvents.Make(user, key, at, [("co2", 2m)]);
        await SendAllAsync(tenant, [[Ride("late-sunday", sunday, "s1")]]);
        Fixture.Time.SetUtcNow(DateTimeOffset.Parse("2025-12-01T00:40:00+13:00"));
        await SendAllAsync(tenant, [[Ride("early-monday", monday, "m1")]]);

        var sundayDay = new DateOnly(2025, 11, 30);
        var mondayDay = new DateOnly(2025, 12, 1);
        async Task<string[]> Members(PeriodKind period, DateOnly day) =>
            (await Query.Page(tenant, 0, new BoardKey("co2", "global", "", period, Periods.KeyOf(period, day)), 0, 10)).Entries.Select(e => e.UserId).ToArray();
        await Eventually.WaitFor(() => Members(PeriodKind.Day, mondayDay), m => m.Length == 1, TimeSpan.FromSeconds(10), "monday's board");
        (await Members(PeriodKind.Day, sundayDay)).ShouldBe(["late-sunday"]);
        (await Members(PeriodKind.Day, mondayDay)).ShouldBe(["early-monday"]);
        (await Members(PeriodKind.Week, sundayDay)).ShouldBe(["late-sunday"]);
        (await Members(PeriodKind.Week, mondayDay)).ShouldBe(["early-monday"]);
        (await Members(PeriodKind.Month, sundayDay)).ShouldBe(["late-sunday"]);
        (await Members(PeriodKind.Month, mondayDay)).ShouldBe(["early-monday"]);
        (await Members(PeriodKind.Year, mondayDay)).Length.ShouldBe(2);

        // It is Monday in Auckland: Sunday's user ranks only on boards of periods still open.
        var stats = await Fixture.Cluster.Client.GetGrain<IUserGrain>(UserKey.Format(tenant, "late-sunday")).GetStats(0, null);
        stats!.Ranks!["co2"]["global"].Keys.Order().ShouldBe(["all_time", "year"]);
        var monday2 = await Fixture.Cluster.Client.GetGrain<IUserGrain>(UserKey.Format(tenant, "early-monday")).GetStats(0, null);
        monday2!.Ranks!["co2"]["global"].Keys.Order().ShouldBe(["all_time", "day", "month", "week", "year"]);
    }

    [Fact]
    public async Task closed_periods_are_snapshotted_evicted_and_then_read_from_the_snapshot()
    {
        var tenant = await Fixture.CreateTenantWithConfigAsync(Config);
        await SendAllAsync(tenant, Workload(9, 10, "c"));
        await AssertConvergedAsync(tenant);
        var november = new BoardKey("co2", "global", "", PeriodKind.Month, 202511);
        var novemberRollup = new BoardKey("co2", "country", "US", PeriodKind.Month, 202511);
        var before = await Query.Page(tenant, 0, november, 0, 1000);
        var rollupBefore = await Query.Rollup(tenant, 0, novemberRollup);
        before.FromSnapshot.ShouldBeFalse();

        // Far past the grace: the snapshot run writes the closed boards one last time, then shards drop them.
        Fixture.Time.Advance(TimeSpan.FromDays(90));
        var report = await Fixture.Cluster.Client.GetGrain<IMaintenanceGrain>(0).SnapshotNow();
        report.BoardsEvicted.ShouldBeGreaterThan(0);
        report.LeaderboardRows.ShouldBeGreaterThan(0);

        var after = await Query.Page(tenant, 0, november, 0, 1000);
        after.FromSnapshot.ShouldBeTrue();
        after.Members.ShouldBe(before.Members);
        after.Entries.ShouldBe(before.Entries);
        var rollupAfter = await Query.Rollup(tenant, 0, novemberRollup);
        (rollupAfter.Total, rollupAfter.Users, rollupAfter.Actions).ShouldBe((rollupBefore.Total, rollupBefore.Users, rollupBefore.Actions));
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_daily_stats WHERE tenant_id = @t", ("t", tenant))).ShouldBeGreaterThan(0);
    }
    [Fact]
    public async Task a_snapshot_run_writes_only_the_boards_and_users_that_changed_since_the_last()
    {
        var tenant = await Fixture.CreateTenantWithConfigAsync(Config);
        await SendAllAsync(tenant, Workload(11, 4, "s"));
        await AssertConvergedAsync(tenant);
        var maintenance = Fixture.Cluster.Client.GetGrain<IMaintenanceGrain>(0);
        var first = await maintenance.SnapshotNow();
        first.LeaderboardRows.ShouldBeGreaterThan(0);
        first.UserSummaryRows.ShouldBeGreaterThan(0);

        var idle = await maintenance.SnapshotNow();
        (idle.LeaderboardRows, idle.RollupRows, idle.UserSummaryRows).ShouldBe((0L, 0L, 0L), idle.ToString());

        // One more event, without a country, for one user: only the global boards of its day's periods
        // and that user are written again.
        var mark = await Fixture.Db.ScalarAsync<DateTime>("SELECT now()");
        await SendAllAsync(tenant, [[TestEvents.Make("u1", "s-more", ClusterFixture.Now, [("co2", 7m)])]]);
        await AssertConvergedAsync(tenant);
        var after = await maintenance.SnapshotNow();
        after.LeaderboardRows.ShouldBeGreaterThan(0);
        (await Fixture.Db.ScalarAsync<string>("""
            SELECT string_agg(DISTINCT user_id, ',') FROM user_stats_summary WHERE tenant_id = @t AND updated_at > @m
            """, ("t", tenant), ("m", mark))).ShouldBe("u1");
        (await Fixture.Db.ScalarAsync<string>("""
            SELECT string_agg(DISTINCT scope || ' ' || period_key, ',' ORDER BY scope || ' ' || period_key) FROM leaderboard_snapshots
             WHERE tenant_id = @t AND taken_at > @m
            """, ("t", tenant), ("m", mark))).ShouldBe("global 2025,global 2025-11,global 2025-11-22,global 2025-W47,global all_time");
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM global_stats_rollup WHERE tenant_id = @t AND computed_at > @m AND scope <> 'global'",
            ("t", tenant), ("m", mark))).ShouldBe(0);
    }
}
