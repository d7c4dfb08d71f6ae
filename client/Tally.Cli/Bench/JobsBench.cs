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

        var results = new List<(long Log, Dictionary<string, List<double>> Runs)>();
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
            var runs = await WatchRunsAsync(db, changedAt, TimeSpan.FromSeconds(s.WindowSeconds), untilEachRan: false);
            results.Add((logged, runs));
            foreach (var runner in Runners)
                Console.WriteLine($"  {runner}: {runs[runner].Count} runs, longest {Max(runs[runner]):0} ms");
        }

        var inv = CultureInfo.InvariantCulture;
        var table = new StringBuilder()
            .Append("| runner |").AppendJoin("", results.Select(r => $" longest run, log of {r.Log:N0} |")).AppendLine(" ratio |")
            .Append("| --- |").AppendJoin("", results.Select(_ => " ---: |")).AppendLine(" ---: |");
        foreach (var runner in Runners)
        {
            table.Append(inv, $"| {runner} |");
            foreach (var r in results) table.Append(inv, $" {Max(r.Runs[runner]):0} ms ({r.Runs[runner].Count} runs) |");
            var first = Max(results[0].Runs[runner]);
            table.AppendLine(inv, $" {(first > 0 ? Max(results[^1].Runs[runner]) / first : 0):0.00} |");
        }
        var body = new StringBuilder()
            .AppendLine("## Background jobs")
            .AppendLine()
            .AppendLine(inv, $"Command: `tally bench jobs --sizes {string.Join(' ', sizes)} --changes {s.Changes} --window {s.WindowSeconds} --write-docs` against `deploy/local/up`.  ")
            .AppendLine(inv, $"Date: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC. Machine: {BenchReport.Machine()}.")
            .AppendLine()
            .AppendLine(inv, $"A tenant of its own with the climate seed's boards. Its log is filled to each size (rows written straight into the log, arrived long ago), then the same change arrives through the API: {s.Changes} events of 40 users new to the tenant. Every run of each background runner in the next {s.WindowSeconds} s is timed by the silo; the longest is shown. The runners read what arrived since their last run, so the figures should not grow with the log.")
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

    private static double Max(List<double> runs) => runs.Count == 0 ? 0 : runs.Max();

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
