using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Tally.Client;

namespace Tally.Cli.Bench;

/// <summary>
/// <c>tally bench ingest</c>: the physical limit (binary COPY), a naive design (one transaction per
/// event with a read-modify-write totals row, 8 connections), and Tally end to end over HTTP.
/// </summary>
internal static class IngestBench
{
    internal sealed record Settings(int Events, int NaiveEvents, int Batch, int Concurrency, int Users, int Runs, bool OnlyTally, bool WriteDocs,
        bool WithGoals = true);

    /// <summary>One run's figures: plain COPY, and Tally first touch and steady state without and with goals.</summary>
    private sealed record Run(BenchRow Copy, BenchRow FirstTouch, BenchRow Steady, BenchRow? GoalsFirstTouch, BenchRow? GoalsSteady);

    private const int WarmUpEvents = 100_000;
    private const int WarmUpUsers = 10_000;

    public static async Task<int> RunAsync(CliContext context, Settings s)
    {
        Console.WriteLine($"tally bench ingest: {s.Events:N0} events (naive: {s.NaiveEvents:N0}), batch {s.Batch}, concurrency {s.Concurrency}, {s.Users:N0} users, {s.Runs} runs{(s.WithGoals ? ", with and without goals" : "")}");
        using var admin = new HttpClient { BaseAddress = new Uri(context.Url) };
        var stamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var tenant = await BenchTenant.EnsureAsync(admin, context.AdminKey, "bench-ingest-" + stamp, BenchTenant.ClimateConfig());
        // The same shape with the climate profile's 3 goals, in the same runs: what goals cost ingest.
        var goals = s.WithGoals ? await BenchTenant.EnsureAsync(admin, context.AdminKey, "bench-goals-" + stamp, BenchTenant.ClimateWithGoalsConfig()) : null;
        await using var dataSource = s.OnlyTally ? null : NpgsqlDataSource.Create(context.Postgres);
        if (dataSource is not null) await PrepareScratch(dataSource);

        // Users are new to the cluster in every run, so "first touch" always activates their grains. A warm-up on
        // other users first (new ones, then the same again) keeps JIT tiering and connection start-up out of the
        // figures: with 20,000 events, the first run after a start still spent a third more silo CPU than the next.
        var runs = new List<Run>();
        for (var r = 0; r < s.Runs; r++)
        {
            var run = Guid.NewGuid().ToString("N")[..8];
            Console.WriteLine($"run {r + 1} of {s.Runs}");
            await TallyHttp(context.Url, tenant.IngestKey, Math.Min(s.Events, WarmUpEvents), s.Batch, s.Concurrency, WarmUpUsers, $"warmup-{run}", "warm-up");
            async Task<(BenchRow, BenchRow)> Pair(BenchTenant t, string label)
            {
                await Settle(admin);
                var first = await TallyHttp(context.Url, t.IngestKey, s.Events, s.Batch, s.Concurrency, s.Users, run, $"first touch: every user's grain activated in the run{label}");
                await Settle(admin);
                return (first, await TallyHttp(context.Url, t.IngestKey, s.Events, s.Batch, s.Concurrency, s.Users, run, $"steady state: the same users, grains active{label}"));
            }
            // With goals second in odd runs and first in even ones, whatever a run does to the next weighs on both alike.
            (BenchRow, BenchRow) plain, withGoals = default;
            if (goals is not null && r % 2 == 1)
            {
                withGoals = await Pair(goals, GoalsLabel);
                plain = await Pair(tenant, "");
            }
            else
            {
                plain = await Pair(tenant, "");
                if (goals is not null) withGoals = await Pair(goals, GoalsLabel);
            }
            var copy = dataSource is null ? plain.Item1 : await PlainCopy(dataSource, s.Events);
            runs.Add(new Run(copy, plain.Item1, plain.Item2, withGoals.Item1, withGoals.Item2));
            Console.WriteLine($"  run {r + 1}: first touch {plain.Item1.PerSecond:N0}/s, steady {plain.Item2.PerSecond:N0}/s" +
                              (goals is null ? "" : $"; with goals {withGoals.Item1!.PerSecond:N0}/s, {withGoals.Item2!.PerSecond:N0}/s") +
                              (dataSource is null ? "" : $"; plain COPY {copy.PerSecond:N0}/s; Tally/COPY {plain.Item1.PerSecond / copy.PerSecond:0.00} and {plain.Item2.PerSecond / copy.PerSecond:0.00}"));
        }
        // Each scenario's median run (of its own figure) stands for it; every run is listed under them.
        BenchRow Median(Func<Run, BenchRow> pick) => runs.Select(pick).OrderBy(row => row.PerSecond).ElementAt(runs.Count / 2);
        var (medianCopy, medianFirst, medianSteady) = (Median(x => x.Copy), Median(x => x.FirstTouch), Median(x => x.Steady));
        var goalRows = goals is null ? [] : new[] { Median(x => x.GoalsFirstTouch!), Median(x => x.GoalsSteady!) };
        double MedianRatio(Func<Run, double> ratio) => runs.Select(ratio).Order().ElementAt(runs.Count / 2);
        if (dataSource is null)
        {
            Console.WriteLine(BenchReport.Table([medianFirst, medianSteady, .. goalRows], "events"));
            return TallyCli.Success;
        }
        var naiveRow = await Naive(dataSource, s.NaiveEvents, s.Users);
        await using (var drop = dataSource.CreateCommand("DROP SCHEMA tally_bench CASCADE")) await drop.ExecuteNonQueryAsync();

        var rows = new List<BenchRow> { medianCopy, naiveRow, medianFirst, medianSteady };
        rows.AddRange(goalRows);
        var naive = naiveRow.PerSecond;
        var inv = CultureInfo.InvariantCulture;
        var body = new StringBuilder()
            .AppendLine("## Ingest")
            .AppendLine()
            .AppendLine(inv, $"Command: `tally bench ingest --events {s.Events} --batch {s.Batch} --concurrency {s.Concurrency} --users {s.Users} --runs {s.Runs}{(s.WithGoals ? "" : " --without-goals")} --write-docs` against `deploy/local/up`.  ")
            .AppendLine(inv, $"Date: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC. Machine: {BenchReport.Machine()}. Client, API, silo, PostgreSQL and Redis share the machine.")
            .AppendLine()
            .AppendLine(inv, $"A new tenant per invocation (`bench-ingest-<unix time>`): one measure, 12 leaderboards and 16 rollups fed by every event; each user has one country and one org (the climate seed's shape; 8 countries, 50 orgs). Each row is the median of {s.Runs} runs for that scenario (the naive one runs once):")
            .AppendLine()
            .Append(BenchReport.Table(rows, "events"))
            .AppendLine()
            .AppendLine(inv, $"Tally / naive: **{medianFirst.PerSecond / naive:0.0}x** first touch, **{medianSteady.PerSecond / naive:0.0}x** steady state. Tally / plain COPY in the same run, median of the runs' ratios: **{MedianRatio(x => x.FirstTouch.PerSecond / x.Copy.PerSecond):0.00}x** first touch and **{MedianRatio(x => x.Steady.PerSecond / x.Copy.PerSecond):0.00}x** steady state.")
            .AppendLine();
        if (goals is not null)
            body.AppendLine(inv, $"With the climate profile's 3 goals (`co2_month`, `co2_total`, `streak_7`, evaluated at every event; a tenant of its own, in the same runs, alternately first and second): **{MedianRatio(x => x.GoalsFirstTouch!.PerSecond / x.FirstTouch.PerSecond):0.00}x** first touch and **{MedianRatio(x => x.GoalsSteady!.PerSecond / x.Steady.PerSecond):0.00}x** steady state of the figures without goals (median of the runs' ratios).")
                .AppendLine();
        body.AppendLine("Every run (events/s):")
            .AppendLine()
            .AppendLine(goals is null
                ? "| run | first touch | steady state | plain COPY | first touch / COPY | steady / COPY |"
                : "| run | first touch | steady state | plain COPY | first touch / COPY | steady / COPY | with goals: first touch | steady state |")
            .AppendLine(goals is null ? "| ---: | ---: | ---: | ---: | ---: | ---: |" : "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (var r = 0; r < runs.Count; r++)
            body.AppendLine(string.Create(inv, $"| {r + 1} | {runs[r].FirstTouch.PerSecond:N0} | {runs[r].Steady.PerSecond:N0} | {runs[r].Copy.PerSecond:N0} | {runs[r].FirstTouch.PerSecond / runs[r].Copy.PerSecond:0.00} | {runs[r].Steady.PerSecond / runs[r].Copy.PerSecond:0.00} |")
                + (goals is null ? "" : string.Create(inv, $" {runs[r].GoalsFirstTouch!.PerSecond:N0} | {runs[r].GoalsSteady!.PerSecond:N0} |")));
        body.AppendLine()
            .AppendLine(inv, $"Each Tally run sends {s.Events:N0} events from {s.Users:N0} users new to the cluster, after a warm-up of {Math.Min(s.Events, WarmUpEvents):N0} events from {WarmUpUsers:N0} other new users; the steady-state run sends as many again for the same users. Each measured phase starts once the previous phase's work is done (its users' state saves, 20 s later, and a snapshot run started after it) and the machine has been under 25% busy for 3 s (at most 3 minutes), so what one phase leaves behind does not land in the next. A request answered 429 or 503, or holding events answered `retry`, is sent again with the same keys, as a client does; every Tally event was acknowledged only after its commit (durable, deduplicated, applied to live stats).");
        BenchReport.Publish(context.RepoRoot, "ingest", body.ToString(), s.WriteDocs);
        return TallyCli.Success;
    }

    /// <summary>Every measured phase starts once what the previous one left to do is done (<see cref="MachineIdle.AfterPhaseAsync"/>).</summary>
    private static async Task Settle(HttpClient http)
    {
        var waited = await MachineIdle.AfterPhaseAsync(http, _phaseEnded, TimeSpan.FromMinutes(3));
        Console.WriteLine($"  waited {waited.TotalSeconds:0} s for the previous phase's saves and snapshot run and a quiet machine");
    }

    private static DateTimeOffset _phaseEnded = DateTimeOffset.MinValue;

    private static async Task PrepareScratch(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand("""
            DROP SCHEMA IF EXISTS tally_bench CASCADE;
            CREATE SCHEMA tally_bench;
            CREATE TABLE tally_bench.copy_events (tenant_id text, action_date date, event_id bigserial, user_id text, action text,
                event_timestamp timestamptz, idempotency_key text, measures jsonb, dims jsonb, payload jsonb);
            CREATE TABLE tally_bench.naive_events (event_id bigserial PRIMARY KEY, tenant_id text, user_id text, action text,
                event_timestamp timestamptz, idempotency_key text UNIQUE, measures jsonb);
            CREATE TABLE tally_bench.naive_totals (tenant_id text, user_id text, total numeric, actions bigint, PRIMARY KEY (tenant_id, user_id));
            """);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<BenchRow> PlainCopy(NpgsqlDataSource db, int events)
    {
        const int chunk = 5000;
        var latency = new LatencyRecorder();
        long done = 0;
        var sw = Stopwatch.StartNew();
        var work = Task.Run(async () =>
        {
            await using var conn = await db.OpenConnectionAsync();
            var now = DateTime.UtcNow;
            for (var start = 0; start < events; start += chunk)
            {
                var t0 = Stopwatch.GetTimestamp();
                await using (var copy = await conn.BeginBinaryImportAsync(
                    "COPY tally_bench.copy_events (tenant_id, action_date, user_id, action, event_timestamp, idempotency_key, measures) FROM STDIN (FORMAT BINARY)"))
                {
                    for (var i = start; i < Math.Min(events, start + chunk); i++)
                    {
                        await copy.StartRowAsync();
                        await copy.WriteAsync("bench", NpgsqlDbType.Text);
                        await copy.WriteAsync(DateOnly.FromDateTime(now), NpgsqlDbType.Date);
                        await copy.WriteAsync("bench-" + (i % 20_000), NpgsqlDbType.Text);
                        await copy.WriteAsync("bike", NpgsqlDbType.Text);
                        await copy.WriteAsync(now, NpgsqlDbType.TimestampTz);
                        await copy.WriteAsync("copy-" + i, NpgsqlDbType.Text);
                        await copy.WriteAsync("{\"co2_saved_kg\": 1.25}", NpgsqlDbType.Jsonb);
                    }
                    await copy.CompleteAsync();
                }
                latency.Record(Stopwatch.GetElapsedTime(t0));
                Interlocked.Add(ref done, Math.Min(chunk, events - start));
            }
        });
        await Progress.Track("plain COPY", () => Interlocked.Read(ref done), events, work);
        return new BenchRow("(a) plain binary COPY, 1 connection", events, sw.Elapsed, latency.Percentile(50), latency.Percentile(99), $"COPY of {chunk} rows");
    }

    private static async Task<BenchRow> Naive(NpgsqlDataSource db, int events, int users)
    {
        const int connections = 8;
        var latency = new LatencyRecorder();
        long next = -1, done = 0;
        var sw = Stopwatch.StartNew();
        var work = Task.WhenAll(Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
        {
            await using var conn = await db.OpenConnectionAsync();
            long i;
            while ((i = Interlocked.Increment(ref next)) < events)
            {
                var t0 = Stopwatch.GetTimestamp();
                await using var tx = await conn.BeginTransactionAsync();
                await using (var insert = new NpgsqlCommand(
                    "INSERT INTO tally_bench.naive_events (tenant_id, user_id, action, event_timestamp, idempotency_key, measures) VALUES ('bench', @u, 'bike', now(), @k, '{\"co2_saved_kg\": 1.25}')", conn, tx))
                {
                    insert.Parameters.AddWithValue("u", "bench-" + (i % users));
                    insert.Parameters.AddWithValue("k", "naive-" + i);
                    await insert.ExecuteNonQueryAsync();
                }
                decimal total = 0;
                long actions = 0;
                await using (var read = new NpgsqlCommand("SELECT total, actions FROM tally_bench.naive_totals WHERE tenant_id = 'bench' AND user_id = @u FOR UPDATE", conn, tx))
                {
                    read.Parameters.AddWithValue("u", "bench-" + (i % users));
                    await using var r = await read.ExecuteReaderAsync();
                    if (await r.ReadAsync()) { total = r.GetDecimal(0); actions = r.GetInt64(1); }
                }
                await using (var write = new NpgsqlCommand(
                    "INSERT INTO tally_bench.naive_totals VALUES ('bench', @u, @t, @a) ON CONFLICT (tenant_id, user_id) DO UPDATE SET total = excluded.total, actions = excluded.actions", conn, tx))
                {
                    write.Parameters.AddWithValue("u", "bench-" + (i % users));
                    write.Parameters.AddWithValue("t", total + 1.25m);
                    write.Parameters.AddWithValue("a", actions + 1);
                    await write.ExecuteNonQueryAsync();
                }
                await tx.CommitAsync();
                latency.Record(Stopwatch.GetElapsedTime(t0));
                Interlocked.Increment(ref done);
            }
        })));
        await Progress.Track("naive", () => Interlocked.Read(ref done), events, work);
        return new BenchRow("(b) naive: 1 transaction per event + totals read-modify-write, 8 connections", events, sw.Elapsed, latency.Percentile(50), latency.Percentile(99), "one event");
    }

    /// <summary>Sends the events with the .NET client (src/Tally.Client), as an application would: a refused request
    /// (429, 503) or a batch holding events answered <c>retry</c> is sent again with the same keys, so every event ends
    /// acknowledged exactly once (a re-sent event already committed is a duplicate). A batch's latency runs from its
    /// first attempt to its acknowledgement. With <paramref name="everyUserOnce"/>, batch <c>b</c> holds users
    /// <c>b × batch</c> onwards (each event is its user's first: <c>tally bench scale</c>), dated <paramref name="at"/>.</summary>
    internal static async Task<BenchRow> TallyHttp(string url, string key, int events, int batch, int concurrency, int users, string userPrefix, string label,
        bool everyUserOnce = false, DateTimeOffset? at = null, int weeks = 1, int maxAttempts = MaxAttempts)
    {
        using var client = TallyClient.Create(new TallyClientOptions
        {
            BaseAddress = new Uri(url), ApiKey = key, BatchSize = batch, MaxAttempts = maxAttempts, RequestTimeout = TimeSpan.FromSeconds(60),
        });
        var run = Guid.NewGuid().ToString("N")[..8];
        var latency = new LatencyRecorder();
        var batches = (events + batch - 1) / batch;
        long next = -1, done = 0, resent = 0;
        var sw = Stopwatch.StartNew();
        var work = Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker);
            long b;
            while ((b = Interlocked.Increment(ref next)) < batches)
            {
                var sent = everyUserOnce
                    ? BuildEvents(run, userPrefix, b, (int)Math.Min(batch, events - b * batch), users, random, (int)(b * batch), at, weeks)
                    : BuildEvents(run, userPrefix, b, batch, users, random, at: at);
                var t0 = Stopwatch.GetTimestamp();
                var summary = await client.IngestAsync(sent);
                latency.Record(Stopwatch.GetElapsedTime(t0));
                if (summary.Accepted + summary.Duplicates != sent.Count)
                    throw new CliException($"a batch was not acknowledged whole after {summary.Requests} attempts ({summary.Rejected} rejected, {summary.Retry} still to retry: " +
                                           $"{summary.Results.FirstOrDefault(r => r.Error is not null)?.Error?.Message}); the figures would not be durable events.");
                Interlocked.Add(ref resent, summary.Requests - 1);
                Interlocked.Add(ref done, sent.Count);
            }
        })));
        await Progress.Track(label, () => Interlocked.Read(ref done), everyUserOnce ? events : (long)batches * batch, work);
        _phaseEnded = DateTimeOffset.UtcNow;
        if (resent > 0) Console.WriteLine($"  {label}: {resent} requests sent again for {batches} batches (429, 503 or events answered retry)");
        return new BenchRow($"(c) Tally over HTTP, batches of {batch}, {concurrency} concurrent; {label}", done, sw.Elapsed, latency.Percentile(50), latency.Percentile(99), $"batch of {batch}");
    }

    private const int MaxAttempts = 10;

    private const string GoalsLabel = "; with 3 goals";

    private static readonly string[] Countries = ["DE", "US", "FR", "GB", "JP", "BR", "IN", "NG"];

    /// <summary><paramref name="size"/> climate events with keys <c>{run}-{batchNo}-{i}</c>, each by a random user of
    /// <paramref name="users"/> (or, from event number <c>firstUser</c> on, each user's <paramref name="weeks"/> events in turn, a week apart
    /// and the last at <paramref name="at"/>): a user has one country and one org, as in the climate seed, so each event moves the user
    /// on 12 boards.</summary>
    internal static List<TallyEvent> BuildEvents(string run, string userPrefix, long batchNo, int size, int users, Random random, int? firstUser = null,
        DateTimeOffset? at = null, int weeks = 1)
    {
        var events = new List<TallyEvent>(size);
        var last = at ?? DateTimeOffset.UtcNow.AddMinutes(-5);
        for (var i = 0; i < size; i++)
        {
            var user = firstUser is { } first ? (first + i) / weeks % users : random.Next(users);
            var occurred = firstUser is { } n ? last.AddDays(-7 * (weeks - 1 - (n + i) % weeks)) : last;
            events.Add(new TallyEvent
            {
                UserId = string.Create(CultureInfo.InvariantCulture, $"{userPrefix}-{user}"), Action = "bike",
                Measures = new Dictionary<string, decimal> { ["co2_saved_kg"] = random.Next(1, 1000) / 100m },
                Dims = new Dictionary<string, string> { ["country"] = Countries[user % Countries.Length], ["org"] = OrgNames[user % OrgNames.Length] },
                OccurredAt = occurred, IdempotencyKey = string.Create(CultureInfo.InvariantCulture, $"{run}-{batchNo}-{i}"),
            });
        }
        return events;
    }

    private static readonly string[] OrgNames = Enumerable.Range(0, 50).Select(o => $"org-{o}").ToArray();

    /// <summary>The same events as one request body (<see cref="BuildEvents"/>'s shape) for <c>tally verify overload</c>, which times raw requests: <paramref name="size"/> climate events with keys <c>{run}-{batchNo}-{i}</c>, each by a random
    /// user, or with <paramref name="firstUser"/> by users <c>firstUser</c>, <c>firstUser + 1</c>, ... (tally verify overload
    /// touches every user that way before it measures).</summary>
    internal static string BuildBatch(string run, string userPrefix, long batchNo, int size, int users, Random random, int? firstUser = null)
    {
        var sb = new StringBuilder(size * 200).Append("{\"events\":[");
        var at = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        for (var i = 0; i < size; i++)
        {
            if (i > 0) sb.Append(',');
            // A user has one country and one org, as in the climate seed: each event moves the user on 12 boards.
            var user = firstUser is { } first ? (first + i) % users : random.Next(users);
            sb.Append("{\"user_id\":\"").Append(userPrefix).Append('-').Append(user).Append("\",\"action\":\"bike\",\"measures\":{\"co2_saved_kg\":")
              .Append((random.Next(1, 1000) / 100m).ToString(CultureInfo.InvariantCulture))
              .Append("},\"dims\":{\"country\":\"").Append(Countries[user % Countries.Length]).Append("\",\"org\":\"org-").Append(user % 50).Append("\"},\"occurred_at\":\"").Append(at)
              .Append("\",\"idempotency_key\":\"").Append(run).Append('-').Append(batchNo).Append('-').Append(i).Append("\"}");
        }
        return sb.Append("]}").ToString();
    }
}
