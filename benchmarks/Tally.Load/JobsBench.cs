using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using Spectre.Console;
using Tally.Client;
using Tally.Postgres.Jobs;

namespace Tally.Cli.Bench;

/// <summary>
/// <c>tally bench jobs</c>: the background runners (reconciliation, snapshots, checkpoints) cost what changed, not what
/// is stored. A tenant of its own gets a logged history of --sizes events (written straight into the log, as arrived
/// long ago), then the same change through the API (--changes events of 40 new users); every run of each runner in
/// the next --window seconds is timed (the silo records each run's duration in tally_jobs). The log then grows to the
/// next size and the same change is made again.
/// </summary>
internal static class JobsBench
{
    internal sealed record Settings(int[] Sizes, int Changes, int Rounds, int WarmUp, bool WriteDocs);

    private static readonly string[] Runners = ["reconciliation", "snapshot", "checkpoint"];

    /// <summary>One runner's timed runs at one log size: those that found work (the change) and the idle ones.</summary>
    private sealed record RunTimes(List<double> Working, List<double> Idle);

    public static async Task<int> RunAsync(CliContext context, Settings s)
    {
        var sizes = s.Sizes.Order().ToArray();
        using var http = new HttpClient { BaseAddress = new Uri(context.Url), Timeout = TimeSpan.FromMinutes(2) };
        var tenant = await BenchTenant.EnsureAsync(http, context.AdminKey, "bench-jobs-" + DateTimeOffset.UtcNow.ToUnixTimeSeconds(), BenchTenant.ClimateConfig());
        await using var db = NpgsqlDataSource.Create(context.Postgres);
        Console.WriteLine($"tally bench jobs: tenant {tenant.Id}, logs of {string.Join(" and ", sizes.Select(n => n.ToString("N0", CultureInfo.InvariantCulture)))} events, {s.Rounds} changes of {s.Changes} events at each size");

        var results = new List<(long Log, Dictionary<string, RunTimes> Runs, (long Blocks, double Ms)? Db)>();
        long logged = 0;
        for (var step = 0; step < sizes.Length; step++)
        {
            var watch = Stopwatch.StartNew();
            await LoadHistoryAsync(db, tenant.Id, logged, sizes[step]);
            logged = sizes[step];
            Console.WriteLine($"  log holds {logged:N0} events of the tenant ({watch.Elapsed.TotalSeconds:0.0} s to load and analyse)");
            // Whatever was pending before (a catch-up after a restart, another bench's writes) is done first, and the
            // change's users exist (their first touch is not timed), so every timed change is the same work.
            await WaitUntilQuietAsync(db);
            for (var warm = 0; warm < s.WarmUp; warm++)
                await ChangeAndWatchAsync(db, http, tenant.IngestKey, $"warm{step}-{warm}", s.Changes, NoRuns(), $"untimed change {warm + 1} of {s.WarmUp}");

            // deploy/local preloads pg_stat_statements; a new database still needs the extension created once.
            var counting = await TryExecAsync(db, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements") && await TryExecAsync(db, "SELECT pg_stat_statements_reset()");
            var runs = NoRuns();
            for (var round = 0; round < s.Rounds; round++)
                await ChangeAndWatchAsync(db, http, tenant.IngestKey, $"change{step}-{round}", s.Changes, runs, $"change {round + 1} of {s.Rounds}");
            var onLog = counting ? await LogWorkAsync(db) : ((long Blocks, double Ms)?)null;
            results.Add((logged, runs, onLog));
            if (onLog is { } w) Console.WriteLine($"  statements on the log over the {s.Rounds} changes: {w.Blocks:N0} blocks, {w.Ms:0.0} ms");
            foreach (var runner in Runners)
                Console.WriteLine($"  {runner}: {Describe(runs[runner].Working)} with work, {Describe(runs[runner].Idle)} idle");
        }

        var inv = CultureInfo.InvariantCulture;
        var table = new StringBuilder()
            .Append("| runner, runs |").AppendJoin("", results.Select(r => $" log of {r.Log:N0}: median (range, runs) |")).AppendLine(" median ratio |")
            .Append("| --- |").AppendJoin("", results.Select(_ => " ---: |")).AppendLine(" ---: |");
        foreach (var runner in Runners)
            foreach (var (label, pick) in new (string, Func<RunTimes, List<double>>)[] { ("that took a change", t => t.Working), ("idle", t => t.Idle) })
            {
                if (results.All(r => pick(r.Runs[runner]).Count == 0)) continue;
                table.Append(inv, $"| {runner}, {label} |");
                foreach (var r in results)
                {
                    var times = pick(r.Runs[runner]);
                    table.Append(times.Count == 0 ? " — |" : string.Create(inv, $" {Median(times):0.0} ms ({times.Min():0.0}–{times.Max():0.0}, {times.Count}) |"));
                }
                var (first, last) = (pick(results[0].Runs[runner]), pick(results[^1].Runs[runner]));
                table.AppendLine(first.Count > 0 && last.Count > 0 ? string.Create(inv, $" {Median(last) / Median(first):0.00} |") : " — |");
            }
        if (results.All(r => r.Db is not null))
        {
            table.Append("| statements on the log (blocks, time) |");
            foreach (var r in results) table.Append(inv, $" {r.Db!.Value.Blocks:N0} blocks, {r.Db.Value.Ms:0.0} ms |");
            var firstBlocks = results[0].Db!.Value.Blocks;
            table.AppendLine(inv, $" {(firstBlocks > 0 ? (double)results[^1].Db!.Value.Blocks / firstBlocks : 0):0.00} (blocks) |");
        }
        var body = new StringBuilder()
            .AppendLine("## Background jobs")
            .AppendLine()
            .AppendLine(inv, $"Command: `tally bench jobs --sizes {string.Join(' ', sizes)} --changes {s.Changes} --rounds {s.Rounds} --warm-up {s.WarmUp} --write-docs` against `deploy/local/up`.  ")
            .AppendLine(inv, $"Date: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC. Machine: {BenchReport.Machine()}.")
            .AppendLine()
            .AppendLine(inv, $"A tenant of its own with the climate seed's boards. Its log is filled to each size (rows written straight into the log over the 300 days before the current month, arrived long ago; vacuumed and analysed after the load, as autovacuum would have, so that does not run inside the timing). Then the same change arrives through the API, {s.WarmUp} times untimed (its 40 users are new to the tenant the first time; the first runs after a load are slower at any size: a run at two equal sizes measured the first 2–4 times slower than the second) and {s.Rounds} times timed: {s.Changes} events of the same 40 users, each time waiting until reconciliation and the snapshot have taken it (and, before the first, until no autovacuum worker runs and a checkpoint has written what was dirty). The silo times every run of each runner and records what the run found to do; runs that took a change and idle runs are shown apart (the checkpoint scheduler finds nothing due in this tenant: its runs are all idle). The last row is the database blocks and time of every statement that read the log during the changes, less the changes' own commits (pg_stat_statements). The runners read what arrived since their last run, so no figure should grow with the log.")
            .AppendLine()
            .Append(table);
        BenchReport.Publish(context.RepoRoot, "jobs", body.ToString(), s.WriteDocs);
        Console.WriteLine("  removing the history rows (and vacuuming, so autovacuum does not do it during the next bench)");
        await using (var drop = db.CreateCommand($"DELETE FROM user_action_events WHERE tenant_id = '{tenant.Id}' AND received_at < '2001-01-01'"))
        {
            drop.CommandTimeout = 1800;
            await drop.ExecuteNonQueryAsync();
        }
        await VacuumHistoryAsync(db);
        return TallyCli.Success;
    }

    private static Dictionary<string, RunTimes> NoRuns() => Runners.ToDictionary(r => r, _ => new RunTimes([], []));

    /// <summary>Makes the change, then adds every runner's runs to <paramref name="runs"/> until reconciliation and the
    /// snapshot have each had one more run with work (up to 5 minutes).</summary>
    private static async Task ChangeAndWatchAsync(NpgsqlDataSource db, HttpClient http, string ingestKey, string name, int changes,
        Dictionary<string, RunTimes> runs, string what)
    {
        var changedAt = await NowAsync(db);
        await ChangeAsync(http, ingestKey, name, changes);
        var (reconciled, snapshotted) = (runs["reconciliation"].Working.Count, runs["snapshot"].Working.Count);
        if (!await WatchRunsAsync(db, changedAt, runs, TimeSpan.FromMinutes(5), $"{what}: timing the runners until they have taken it",
                r => r["reconciliation"].Working.Count > reconciled && r["snapshot"].Working.Count > snapshotted))
            throw new CliException($"the runners did not take {what} within 5 minutes (is the silo running its jobs? see tally_jobs)");
    }

    private static string Describe(List<double> runs) =>
        runs.Count == 0 ? "no runs" : string.Create(CultureInfo.InvariantCulture, $"{runs.Count} runs (median {Median(runs):0} ms, longest {runs.Max():0} ms)");

    private static async Task<bool> TryExecAsync(NpgsqlDataSource db, string sql)
    {
        try
        {
            await using var cmd = db.CreateCommand(sql);
            cmd.CommandTimeout = 600;
            await cmd.ExecuteNonQueryAsync();
            return true;
        }
        catch (PostgresException)
        {
            return false; // e.g. pg_stat_statements not installed: that figure is left out
        }
    }

    /// <summary>Blocks and time of the statements that read the log since the last reset: the runners' (the commits of the
    /// changes themselves, through the ingest stage, are left out: they are the same at every size).</summary>
    private static async Task<(long Blocks, double Ms)> LogWorkAsync(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand("""
            SELECT COALESCE(sum(shared_blks_hit + shared_blks_read + local_blks_hit + local_blks_read), 0)::bigint, COALESCE(sum(total_exec_time), 0)::float8
              FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND query LIKE '%user_action_events%' AND query NOT LIKE '%ingest_stage%'
            """);
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetDouble(1));
    }

    private static double Median(List<double> runs)
    {
        if (runs.Count == 0) return 0;
        var sorted = runs.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>History rows (user h0..h19999 over the 300 days before the current month) up to <paramref name="to"/> rows,
    /// arrived in 2000 so no job window holds them; then ANALYZE and VACUUM, as autovacuum would have by the time a log is
    /// that size.</summary>
    private static async Task LoadHistoryAsync(NpgsqlDataSource db, string tenant, long from, long to)
    {
        // Not in the current month's partition: that is where every other bench writes, and the rows this bench deletes
        // at the end would leave it with holes that make later ingest runs slower.
        var last = HistoryEnd();
        await using var cmd = db.CreateCommand($"""
            SELECT tally_ensure_event_partitions('{last.AddDays(-300):yyyy-MM-dd}', '{last:yyyy-MM-dd}');
            INSERT INTO user_action_events (tenant_id, action_date, user_id, action, event_timestamp, received_at, idempotency_key, measures, dims)
            SELECT '{tenant}', DATE '{last:yyyy-MM-dd}' - (i % 300)::int, 'h' || (i % 20000), 'bike',
                   TIMESTAMPTZ '{last:yyyy-MM-dd} 08:00+00' - make_interval(days => (i % 300)::int), TIMESTAMPTZ '2000-01-01 00:00+00',
                   'history-' || i, jsonb_build_object('co2_saved_kg', round((i % 1000) * 0.37, 2)), jsonb_build_object('country', 'DE', 'org', 'o1')
              FROM generate_series({from + 1}, {to}) i;
            ANALYZE user_action_events;
            """);
        cmd.CommandTimeout = 1800;
        await cmd.ExecuteNonQueryAsync();
        await VacuumHistoryAsync(db);
    }

    /// <summary>The history's last day: two days before the current month began (UTC), so in no time zone is it in the
    /// current month.</summary>
    private static DateOnly HistoryEnd()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        return new DateOnly(today.Year, today.Month, 1).AddDays(-2);
    }

    /// <summary>The history's partitions vacuumed and analysed as autovacuum would be after a load or a delete, and the dirty
    /// pages written, so neither happens while runs are timed.</summary>
    private static async Task VacuumHistoryAsync(NpgsqlDataSource db)
    {
        var last = HistoryEnd();
        for (var month = new DateOnly(last.AddDays(-300).Year, last.AddDays(-300).Month, 1); month <= last; month = month.AddMonths(1))
        {
            await using var vacuum = db.CreateCommand($"VACUUM (ANALYZE) user_action_events_y{month:yyyy}m{month:MM}");
            vacuum.CommandTimeout = 1800;
            await vacuum.ExecuteNonQueryAsync();
        }
        await TryExecAsync(db, "CHECKPOINT");
    }

    /// <summary>Runs are timed on a quiet database: waits (up to 10 minutes) until no autovacuum worker runs (e.g. on the
    /// rows an earlier bench deleted), then writes what is dirty (a checkpoint spread over the timed changes slows them).</summary>
    private static async Task WaitUntilQuietAsync(NpgsqlDataSource db)
    {
        var watch = Stopwatch.StartNew();
        await AnsiConsole.Status().StartAsync("waiting until autovacuum is done", async _ =>
        {
            while (watch.Elapsed < TimeSpan.FromMinutes(10))
            {
                await using var cmd = db.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'");
                if ((long)(await cmd.ExecuteScalarAsync())! == 0) return;
                await Task.Delay(TimeSpan.FromSeconds(2));
            }
        });
        if (watch.Elapsed >= TimeSpan.FromMinutes(10)) Console.WriteLine("  autovacuum still runs after 10 minutes; timing anyway");
        await TryExecAsync(db, "CHECKPOINT");
    }

    /// <summary>The same change each time: <paramref name="changes"/> events of the users change-0..39 (new to the tenant the
    /// first time), idempotency keys unique to <paramref name="name"/>.</summary>
    private static async Task ChangeAsync(HttpClient http, string ingestKey, string name, int changes)
    {
        using var client = TallyClient.Create(new TallyClientOptions { BaseAddress = http.BaseAddress, ApiKey = ingestKey, BatchSize = 10_000, RequestTimeout = TimeSpan.FromMinutes(2) });
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        var events = Enumerable.Range(0, changes).Select(i => new TallyEvent
        {
            UserId = $"change-{i % 40}", Action = "bike", OccurredAt = now, IdempotencyKey = $"{name}-{i}",
            Measures = new Dictionary<string, decimal> { ["co2_saved_kg"] = 1 + i % 7 },
            Dims = new Dictionary<string, string> { ["country"] = i % 2 == 0 ? "DE" : "FR", ["org"] = "o1" },
        }).ToList();
        var summary = await client.IngestAsync(events);
        if (summary.Accepted != changes)
            throw new CliException($"the change was not accepted whole: {summary.Accepted} accepted, {summary.Duplicates} duplicates, {summary.Rejected} rejected, {summary.Retry} to retry");
    }

    /// <summary>Adds to <paramref name="runs"/> every run of each runner that started after <paramref name="since"/>
    /// (with work or idle, as the silo recorded it), until <paramref name="done"/> holds; false if it did not within
    /// <paramref name="limit"/>.</summary>
    private static async Task<bool> WatchRunsAsync(NpgsqlDataSource db, DateTimeOffset since, Dictionary<string, RunTimes> runs, TimeSpan limit, string what,
        Func<Dictionary<string, RunTimes>, bool> done)
    {
        var seen = new HashSet<(string, DateTimeOffset)>();
        var ledger = new JobLedger(db);
        var watch = Stopwatch.StartNew();
        return await AnsiConsole.Status().StartAsync(what, async _ =>
        {
            while (!done(runs))
            {
                if (watch.Elapsed > limit) return false;
                await Task.Delay(TimeSpan.FromSeconds(1));
                foreach (var run in await ledger.ReadRunsAsync(CancellationToken.None))
                    if (run.StartedAt > since && runs.TryGetValue(run.Runner, out var times) && seen.Add((run.Runner, run.FinishedAt)))
                        (run.Work > 0 ? times.Working : times.Idle).Add(run.Duration.TotalMilliseconds);
            }
            return true;
        });
    }

    private static async Task<DateTimeOffset> NowAsync(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand("SELECT now()");
        return new DateTimeOffset(DateTime.SpecifyKind((DateTime)(await cmd.ExecuteScalarAsync())!, DateTimeKind.Utc));
    }
}
