using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using Spectre.Console;

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
    internal sealed record Settings(int[] Sizes, int Changes, int WindowSeconds, bool WriteDocs);

    private static readonly string[] Runners = ["reconciliation", "snapshot", "checkpoint"];

    public static async Task<int> RunAsync(CliContext context, Settings s)
    {
        var sizes = s.Sizes.Order().ToArray();
        using var http = new HttpClient { BaseAddress = new Uri(context.Url), Timeout = TimeSpan.FromMinutes(2) };
        var tenant = await BenchTenant.EnsureAsync(http, context.AdminKey, "bench-jobs-" + DateTimeOffset.UtcNow.ToUnixTimeSeconds(), BenchTenant.ClimateConfig());
        await using var db = NpgsqlDataSource.Create(context.Postgres);
        Console.WriteLine($"tally bench jobs: tenant {tenant.Id}, logs of {string.Join(" and ", sizes.Select(n => n.ToString("N0", CultureInfo.InvariantCulture)))} events, {s.Changes} changed events each time, {s.WindowSeconds} s of runs");

        var results = new List<(long Log, Dictionary<string, List<double>> Runs, (long Blocks, double Ms)? Db)>();
        long logged = 0;
        for (var step = 0; step < sizes.Length; step++)
        {
            var watch = Stopwatch.StartNew();
            await LoadHistoryAsync(db, tenant.Id, logged, sizes[step]);
            logged = sizes[step];
            Console.WriteLine($"  log holds {logged:N0} events of the tenant ({watch.Elapsed.TotalSeconds:0.0} s to load and analyse)");
            // Whatever was pending before (a catch-up after a restart, another bench's writes) is done first.
            await WatchRunsAsync(db, await NowAsync(db), TimeSpan.FromMinutes(5), untilEachRan: true);

            var changedAt = await NowAsync(db);
            await ChangeAsync(http, tenant.IngestKey, step, s.Changes);
            var counting = await TryExecAsync(db, "SELECT pg_stat_statements_reset()");
            var runs = await WatchRunsAsync(db, changedAt, TimeSpan.FromSeconds(s.WindowSeconds), untilEachRan: false);
            var onLog = counting ? await LogWorkAsync(db) : ((long Blocks, double Ms)?)null;
            results.Add((logged, runs, onLog));
            if (onLog is { } w) Console.WriteLine($"  statements on the log in the window: {w.Blocks:N0} blocks, {w.Ms:0.0} ms");
            foreach (var runner in Runners)
                Console.WriteLine($"  {runner}: {runs[runner].Count} runs, median {Median(runs[runner]):0} ms, longest {Max(runs[runner]):0} ms");
        }

        var inv = CultureInfo.InvariantCulture;
        var table = new StringBuilder()
            .Append("| runner |").AppendJoin("", results.Select(r => $" log of {r.Log:N0}: median (longest, runs) |")).AppendLine(" median ratio |")
            .Append("| --- |").AppendJoin("", results.Select(_ => " ---: |")).AppendLine(" ---: |");
        foreach (var runner in Runners)
        {
            table.Append(inv, $"| {runner} |");
            foreach (var r in results) table.Append(inv, $" {Median(r.Runs[runner]):0.0} ms ({Max(r.Runs[runner]):0.0} ms, {r.Runs[runner].Count}) |");
            var first = Median(results[0].Runs[runner]);
            table.AppendLine(inv, $" {(first > 0 ? Median(results[^1].Runs[runner]) / first : 0):0.00} |");
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
            .AppendLine(inv, $"Command: `tally bench jobs --sizes {string.Join(' ', sizes)} --changes {s.Changes} --window {s.WindowSeconds} --write-docs` against `deploy/local/up`.  ")
            .AppendLine(inv, $"Date: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC. Machine: {BenchReport.Machine()}.")
            .AppendLine()
            .AppendLine(inv, $"A tenant of its own with the climate seed's boards. Its log is filled to each size (rows written straight into the log, arrived long ago), then the same change arrives through the API: {s.Changes} events of 40 users new to the tenant. Every run of each background runner in the next {s.WindowSeconds} s is timed by the silo; the median and the longest are shown, and the database blocks and time of every statement that read the log in the window (pg_stat_statements) (the log is vacuumed and analysed after each load, as autovacuum would have, so that does not run inside a window). The runners read what arrived since their last run, so the figures should not grow with the log.")
            .AppendLine()
            .Append(table);
        BenchReport.Publish(context.RepoRoot, "jobs", body.ToString(), s.WriteDocs);
        await using (var drop = db.CreateCommand($"DELETE FROM user_action_events WHERE tenant_id = '{tenant.Id}' AND received_at < '2001-01-01'"))
        {
            drop.CommandTimeout = 600;
            await drop.ExecuteNonQueryAsync();
        }
        return TallyCli.Success;
    }

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

    /// <summary>Blocks and time of the statements that read the log since the last reset: the runners' (the change was
    /// acknowledged, and its users' grains are active, before the reset).</summary>
    private static async Task<(long Blocks, double Ms)> LogWorkAsync(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand("""
            SELECT COALESCE(sum(shared_blks_hit + shared_blks_read + local_blks_hit + local_blks_read), 0)::bigint, COALESCE(sum(total_exec_time), 0)::float8
              FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND query LIKE '%user_action_events%'
            """);
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetDouble(1));
    }

    private static double Max(List<double> runs) => runs.Count == 0 ? 0 : runs.Max();

    private static double Median(List<double> runs) => runs.Count == 0 ? 0 : runs.Order().ElementAt(runs.Count / 2);

    /// <summary>History rows (user h0..h19999 over the last 300 days) up to <paramref name="to"/> rows, arrived in 2000 so
    /// no job window holds them; then ANALYZE, as autovacuum would have by the time a log is that size.</summary>
    private static async Task LoadHistoryAsync(NpgsqlDataSource db, string tenant, long from, long to)
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        await using var cmd = db.CreateCommand($"""
            SELECT tally_ensure_event_partitions('{today.AddDays(-300):yyyy-MM-dd}', '{today:yyyy-MM-dd}');
            INSERT INTO user_action_events (tenant_id, action_date, user_id, action, event_timestamp, received_at, idempotency_key, measures, dims)
            SELECT '{tenant}', DATE '{today:yyyy-MM-dd}' - (i % 300)::int, 'h' || (i % 20000), 'bike',
                   TIMESTAMPTZ '{today:yyyy-MM-dd} 08:00+00' - make_interval(days => (i % 300)::int), TIMESTAMPTZ '2000-01-01 00:00+00',
                   'history-' || i, jsonb_build_object('co2_saved_kg', round((i % 1000) * 0.37, 2)), jsonb_build_object('country', 'DE', 'org', 'o1')
              FROM generate_series({from + 1}, {to}) i;
            ANALYZE user_action_events;
            """);
        cmd.CommandTimeout = 1800;
        await cmd.ExecuteNonQueryAsync();
        // Vacuumed as autovacuum would be after such a load, so it does not run inside a timing window.
        for (var month = new DateOnly(today.AddDays(-300).Year, today.AddDays(-300).Month, 1); month <= today; month = month.AddMonths(1))
        {
            await using var vacuum = db.CreateCommand($"VACUUM (ANALYZE) user_action_events_y{month:yyyy}m{month:MM}");
            vacuum.CommandTimeout = 1800;
            await vacuum.ExecuteNonQueryAsync();
        }
        await TryExecAsync(db, "CHECKPOINT"); // the load's dirty pages written now, not during a window
    }

    private static async Task ChangeAsync(HttpClient http, string ingestKey, int step, int changes)
    {
        var now = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var events = new JsonArray();
        for (var i = 0; i < changes; i++)
            events.Add(new JsonObject
            {
                ["user_id"] = $"change{step}-{i % 40}", ["action"] = "bike", ["occurred_at"] = now, ["idempotency_key"] = $"change{step}-{i}",
                ["measures"] = new JsonObject { ["co2_saved_kg"] = 1 + i % 7 },
                ["dims"] = new JsonObject { ["country"] = i % 2 == 0 ? "DE" : "FR", ["org"] = "o1" },
            });
        var answer = JsonNode.Parse(await Api.SendAsync(http, HttpMethod.Post, "/v1/events", ingestKey, new JsonObject { ["events"] = events }.ToJsonString()))!;
        if ((int)answer["accepted"]! != changes) throw new CliException($"the change was not accepted whole: {answer.ToJsonString()[..Math.Min(300, answer.ToJsonString().Length)]}");
    }

    /// <summary>Every run of each runner that started after <paramref name="since"/>, for <paramref name="window"/>
    /// (or, <paramref name="untilEachRan"/>, until each runner has run once).</summary>
    private static async Task<Dictionary<string, List<double>>> WatchRunsAsync(NpgsqlDataSource db, DateTime since, TimeSpan window, bool untilEachRan)
    {
        var runs = Runners.ToDictionary(r => r, _ => new List<double>());
        var seen = new HashSet<(string, DateTime)>();
        var watch = Stopwatch.StartNew();
        var what = untilEachRan ? "waiting for one run of each runner" : $"timing the runners for {window.TotalSeconds:0} s";
        await AnsiConsole.Status().StartAsync(what, async _ =>
        {
            while (watch.Elapsed < window && !(untilEachRan && runs.Values.All(r => r.Count > 0)))
            {
                await using var cmd = db.CreateCommand("""
                    SELECT substr(job, 5), finished_at, (detail ->> 'duration_ms')::float8 FROM tally_jobs
                     WHERE job LIKE 'run:%' AND finished_at - make_interval(secs => (detail ->> 'duration_ms')::float8 / 1000) > $1
                    """);
                cmd.Parameters.AddWithValue(since);
                await using var reader = await cmd.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                    if (runs.TryGetValue(reader.GetString(0), out var list) && seen.Add((reader.GetString(0), reader.GetDateTime(1))))
                        list.Add(reader.GetDouble(2));
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        });
        return runs;
    }

    private static async Task<DateTime> NowAsync(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand("SELECT now()");
        return (DateTime)(await cmd.ExecuteScalarAsync())!;
    }
}
