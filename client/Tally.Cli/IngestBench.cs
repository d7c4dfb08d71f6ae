using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace Tally.Cli;

/// <summary>
/// <c>tally bench ingest</c>: the physical limit (binary COPY), a naive design (one transaction per
/// event with a read-modify-write totals row, 8 connections), and Tally end to end over HTTP.
/// </summary>
internal static class IngestBench
{
    public static async Task<int> RunAsync(CliOptions options)
    {
        var events = options.Int("events", 200_000);
        var naiveEvents = options.Int("naive-events", Math.Min(events, 40_000));
        var batch = options.Int("batch", 500);
        var concurrency = options.Int("concurrency", 16);
        var users = options.Int("users", 20_000);
        var pg = options.Setting("TALLY_PG");
        var url = options.Setting("TALLY_URL");
        var key = options.Setting("TALLY_DEMO_INGEST_KEY");

        Console.WriteLine($"tally bench ingest: {events:N0} events (naive: {naiveEvents:N0}), batch {batch}, concurrency {concurrency}, {users:N0} users");
        await using var dataSource = NpgsqlDataSource.Create(pg);
        if (options.Flag("only") is null) await PrepareScratch(dataSource);
        // Users are new to the cluster on every run, so "first touch" always activates their grains;
        // a short warm-up on other users first keeps JIT and connection start-up out of the figures.
        var run = Guid.NewGuid().ToString("N")[..8];
        await TallyHttp(url, key, Math.Min(events, 20_000), batch, concurrency, 2_000, $"warmup-{run}", "warm-up");
        var firstTouch = await TallyHttp(url, key, events, batch, concurrency, users, run, "first touch: every user's grain activated in the run");
        var steady = await TallyHttp(url, key, events, batch, concurrency, users, run, "steady state: the same users, grains active");
        if (options.Flag("only") == "tally")
        {
            // For profiling the Tally path alone; nothing is written to docs.
            Console.WriteLine(BenchReport.Table([firstTouch, steady], "events"));
            return 0;
        }
        var rows = new List<BenchRow>
        {
            await PlainCopy(dataSource, events),
            await Naive(dataSource, naiveEvents, users),
            firstTouch,
            steady,
        };
        await using (var drop = dataSource.CreateCommand("DROP SCHEMA tally_bench CASCADE")) await drop.ExecuteNonQueryAsync();

        var copy = rows[0].PerSecond;
        var naive = rows[1].PerSecond;
        var body = new StringBuilder()
            .AppendLine("## Ingest")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Command: `tally bench ingest --events {events} --batch {batch} --concurrency {concurrency} --users {users}` against `deploy/local/up`.  ")
            .AppendLine(CultureInfo.InvariantCulture, $"Date: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC. Machine: {BenchReport.Machine()}. Client, API, silo and PostgreSQL share the machine.")
            .AppendLine()
            .Append(BenchReport.Table(rows, "events"))
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Tally / naive: **{firstTouch.PerSecond / naive:0.0}x** first touch, **{steady.PerSecond / naive:0.0}x** steady state. Tally / plain COPY: **{firstTouch.PerSecond / copy:0.00}x** and **{steady.PerSecond / copy:0.00}x**.")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Each Tally run sends {events:N0} events from {users:N0} users new to the cluster (a short warm-up on other users runs first); the steady-state run sends as many again for the same users. Every Tally event was acknowledged only after its commit (durable, deduplicated, applied to live stats).")
            .ToString();
        Console.WriteLine();
        Console.WriteLine(body);
        Console.WriteLine($"written to {BenchReport.Write(options.RepoRoot, "ingest", body)}");
        return 0;
    }

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
                        await copy.WriteAsync("demo", NpgsqlDbType.Text);
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
                    "INSERT INTO tally_bench.naive_events (tenant_id, user_id, action, event_timestamp, idempotency_key, measures) VALUES ('demo', @u, 'bike', now(), @k, '{\"co2_saved_kg\": 1.25}')", conn, tx))
                {
                    insert.Parameters.AddWithValue("u", "bench-" + (i % users));
                    insert.Parameters.AddWithValue("k", "naive-" + i);
                    await insert.ExecuteNonQueryAsync();
                }
                decimal total = 0;
                long actions = 0;
                await using (var read = new NpgsqlCommand("SELECT total, actions FROM tally_bench.naive_totals WHERE tenant_id = 'demo' AND user_id = @u FOR UPDATE", conn, tx))
                {
                    read.Parameters.AddWithValue("u", "bench-" + (i % users));
                    await using var r = await read.ExecuteReaderAsync();
                    if (await r.ReadAsync()) { total = r.GetDecimal(0); actions = r.GetInt64(1); }
                }
                await using (var write = new NpgsqlCommand(
                    "INSERT INTO tally_bench.naive_totals VALUES ('demo', @u, @t, @a) ON CONFLICT (tenant_id, user_id) DO UPDATE SET total = excluded.total, actions = excluded.actions", conn, tx))
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

    private static async Task<BenchRow> TallyHttp(string url, string key, int events, int batch, int concurrency, int users, string userPrefix, string label)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency }) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var run = Guid.NewGuid().ToString("N")[..8];
        var latency = new LatencyRecorder();
        var batches = (events + batch - 1) / batch;
        long next = -1, done = 0, failed = 0;
        var sw = Stopwatch.StartNew();
        var work = Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker);
            long b;
            while ((b = Interlocked.Increment(ref next)) < batches)
            {
                var body = BuildBatch(run, userPrefix, b, batch, users, random);
                var t0 = Stopwatch.GetTimestamp();
                using var response = await http.PostAsync("/v1/events", new StringContent(body, Encoding.UTF8, "application/json"));
                latency.Record(Stopwatch.GetElapsedTime(t0));
                if (!response.IsSuccessStatusCode) { Interlocked.Increment(ref failed); continue; }
                Interlocked.Add(ref done, batch);
            }
        })));
        await Progress.Track(label, () => Interlocked.Read(ref done), (long)batches * batch, work);
        if (failed > 0) Console.WriteLine($"  warning: {failed} requests failed");
        return new BenchRow($"(c) Tally over HTTP, batches of {batch}, {concurrency} concurrent; {label}", done, sw.Elapsed, latency.Percentile(50), latency.Percentile(99), $"request of {batch}");
    }

    private static string BuildBatch(string run, string userPrefix, long batchNo, int size, int users, Random random)
    {
        var sb = new StringBuilder(size * 200).Append("{\"events\":[");
        var at = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        for (var i = 0; i < size; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append("{\"user_id\":\"").Append(userPrefix).Append('-').Append(random.Next(users)).Append("\",\"action\":\"bike\",\"measures\":{\"co2_saved_kg\":")
              .Append((random.Next(1, 1000) / 100m).ToString(CultureInfo.InvariantCulture))
              .Append("},\"dims\":{\"country\":\"DE\"},\"occurred_at\":\"").Append(at)
              .Append("\",\"idempotency_key\":\"").Append(run).Append('-').Append(batchNo).Append('-').Append(i).Append("\"}");
        }
        return sb.Append("]}").ToString();
    }
}
