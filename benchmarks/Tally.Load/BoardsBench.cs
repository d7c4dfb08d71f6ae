using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using StackExchange.Redis;
using Tally.Client;
using Tally.Domain.Boards;

namespace Tally.Cli.Bench;

/// <summary>
/// <c>tally bench boards</c>: (a) the rank index's memory in process at 1M and 10M members (its speed is the
/// BenchmarkDotNet suite's); (b) a Redis sorted set
/// with the same data on the same machine; (c) end to end over HTTP: ack → visible on the board, and
/// page / around-me latency while ingest runs. Writes its section of docs/benchmarks.md.
/// </summary>
internal static class BoardsBench
{
    internal sealed record Settings(int[] Sizes, int RedisMembers, int Users, int Samples, int Seconds, int Concurrency, bool WriteDocs);

    public static async Task<int> RunAsync(CliContext context, Settings s)
    {
        var (sizes, redisMembers, users, samples, seconds, concurrency) = (s.Sizes, s.RedisMembers, s.Users, s.Samples, s.Seconds, s.Concurrency);
        Console.WriteLine($"tally bench boards: index at {string.Join(", ", sizes.Select(n => n.ToString("N0", CultureInfo.InvariantCulture)))}; " +
                          $"Redis at {redisMembers:N0}; end to end with {users:N0} users, {samples} freshness samples, {seconds} s of reads");

        var index = sizes.Select(IndexFigures).ToList();
        var redis = await RedisFigures(context.Redis, redisMembers);
        var e2e = await EndToEnd(context, users, samples, seconds, concurrency);

        var inv = CultureInfo.InvariantCulture;
        var body = new StringBuilder()
            .AppendLine("## Boards")
            .AppendLine()
            .AppendLine(inv, $"Command: `tally bench boards --write-docs` against `deploy/local/up`.  ")
            .AppendLine(inv, $"Date: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC. Machine: {BenchReport.Machine()}. Client, API, silo, PostgreSQL and Redis share the machine.")
            .AppendLine()
            .AppendLine("(a) The rank index's memory in process (one board, random scores with cents, members added in random order, then a million moves and a read). Bytes per entry: the index's node array and its table of writes waiting for a read (growth slack included) over the members; the board's own per-member record (cell and slot) is not counted. Its time per operation is in the section \"Rank index (BenchmarkDotNet)\".")
            .AppendLine()
            .AppendLine("| members | bytes/entry |")
            .AppendLine("| ---: | ---: |");
        foreach (var r in index)
            body.AppendLine(inv, $"| {r.Members:N0} | {r.BytesPerEntry:0.0} |");
        body.AppendLine()
            .AppendLine(inv, $"(b) Redis sorted set with the same kind of data ({redis.Members:N0} members `u<n>`, scores as doubles), Redis {redis.Version} on the same machine.")
            .AppendLine()
            .AppendLine("| figure | value |")
            .AppendLine("| --- | ---: |")
            .AppendLine(inv, $"| bytes/member (`MEMORY USAGE` of the key) | {redis.KeyBytesPerMember:0.0} |")
            .AppendLine(inv, $"| bytes/member (`INFO memory` used_memory growth) | {redis.UsedBytesPerMember:0.0} |")
            .AppendLine(inv, $"| ZADD pipelined (batches of 1,000) ops/s | {redis.ZaddPipelined:N0} |")
            .AppendLine(inv, $"| ZADD one at a time ops/s | {redis.ZaddSingle:N0} |")
            .AppendLine(inv, $"| ZREVRANK pipelined ops/s | {redis.RankPipelined:N0} |")
            .AppendLine(inv, $"| ZREVRANK one at a time ops/s | {redis.RankSingle:N0} |")
            .AppendLine()
            .AppendLine(inv, $"(c) End to end over HTTP: a board of {users:N0} users (tenant with 4 shards). Freshness: an event posted with a score above everyone's, " +
                             $"from the 200 answer to the moment the board's first page (cache included) shows the user, {samples} samples. " +
                             $"Reads: {concurrency} concurrent clients for {seconds} s while a background writer posts batches of 100 events.")
            .AppendLine()
            .AppendLine("| measure | count | p50 ms | p99 ms |")
            .AppendLine("| --- | ---: | ---: | ---: |")
            .AppendLine(inv, $"| ack → visible on the board | {e2e.Freshness.Count:N0} | {e2e.Freshness.P50:0.0} | {e2e.Freshness.P99:0.0} |")
            .AppendLine(inv, $"| GET top-100 page | {e2e.Page.Count:N0} | {e2e.Page.P50:0.0} | {e2e.Page.P99:0.0} |")
            .AppendLine(inv, $"| GET around-me (around=5) | {e2e.Around.Count:N0} | {e2e.Around.P50:0.0} | {e2e.Around.P99:0.0} |")
            .AppendLine(inv, $"| background events accepted during reads | {e2e.EventsDuringReads:N0} | | |");
        BenchReport.Publish(context.RepoRoot, "boards", body.ToString(), s.WriteDocs);
        return TallyCli.Success;
    }

    private sealed record IndexRow(int Members, double BytesPerEntry);

    /// <summary>The index's memory at a size: its node array and its table of writes waiting for a read (growth slack
    /// included) after every member was added in random order and a million moves, over the members. Its speed per
    /// operation is BenchmarkDotNet's to measure (benchmarks/Tally.Benchmarks), not a Stopwatch's here.</summary>
    private static IndexRow IndexFigures(int n)
    {
        Console.WriteLine($"  (a) rank index, {n:N0} members");
        var random = new Random(42);
        var members = new int[n];
        for (var i = 0; i < n; i++) members[i] = i;
        random.Shuffle(members);
        var index = new RankIndex();
        var slots = new int[n];
        for (var i = 0; i < n; i++) slots[members[i]] = index.Add(members[i], random.Next(0, 10_000_000) / 100m, i + 1);
        const int moves = 1_000_000;
        for (var i = 0; i < moves; i++) index.Move(slots[random.Next(n)], random.Next(0, 10_000_000) / 100m, n + i + 1);
        index.RankOf(slots[0]); // a read places the moves still waiting
        var bytes = index.AllocatedBytes;
        Console.WriteLine($"      {bytes / (double)n:0.0} B/entry");
        return new IndexRow(n, bytes / (double)n);
    }

    private sealed record RedisRow(int Members, string Version, double KeyBytesPerMember, double UsedBytesPerMember,
        double ZaddPipelined, double ZaddSingle, double RankPipelined, double RankSingle);

    private static async Task<RedisRow> RedisFigures(string endpoint, int n)
    {
        Console.WriteLine($"  (b) Redis sorted set, {n:N0} members at {endpoint}");
        using var mux = await ConnectionMultiplexer.ConnectAsync($"{endpoint},allowAdmin=true");
        var db = mux.GetDatabase();
        var server = mux.GetServer(mux.GetEndPoints()[0]);
        var key = (RedisKey)$"tally-bench:zset:{Guid.NewGuid():N}";
        var random = new Random(42);
        var usedBefore = UsedMemory(await server.InfoAsync("memory"));

        var sw = Stopwatch.StartNew();
        for (var start = 0; start < n; start += 1000)
        {
            var batch = new SortedSetEntry[Math.Min(1000, n - start)];
            for (var i = 0; i < batch.Length; i++) batch[i] = new SortedSetEntry($"u{start + i}", random.Next(0, 10_000_000) / 100.0);
            await db.SortedSetAddAsync(key, batch);
        }
        var zaddPipelined = n / sw.Elapsed.TotalSeconds;
        var keyBytes = (long)(await db.ExecuteAsync("MEMORY", "USAGE", key, "SAMPLES", "0"));
        var usedAfter = UsedMemory(await server.InfoAsync("memory"));

        const int single = 20_000;
        sw.Restart();
        for (var i = 0; i < single; i++) await db.SortedSetAddAsync(key, $"u{random.Next(n)}", random.Next(0, 10_000_000) / 100.0);
        var zaddSingle = single / sw.Elapsed.TotalSeconds;
        sw.Restart();
        for (var i = 0; i < single; i++) await db.SortedSetRankAsync(key, $"u{random.Next(n)}", Order.Descending);
        var rankSingle = single / sw.Elapsed.TotalSeconds;
        const int pipelined = 200_000;
        sw.Restart();
        for (var start = 0; start < pipelined; start += 1000)
        {
            var tasks = new Task[1000];
            for (var i = 0; i < tasks.Length; i++) tasks[i] = db.SortedSetRankAsync(key, $"u{random.Next(n)}", Order.Descending);
            await Task.WhenAll(tasks);
        }
        var rankPipelined = pipelined / sw.Elapsed.TotalSeconds;
        await db.KeyDeleteAsync(key);
        var version = server.Version.ToString();
        Console.WriteLine($"      {keyBytes / (double)n:0.0} B/member (key), ZADD {zaddPipelined:N0}/s pipelined, ZREVRANK {rankSingle:N0}/s single");
        return new RedisRow(n, version, keyBytes / (double)n, (usedAfter - usedBefore) / (double)n, zaddPipelined, zaddSingle, rankPipelined, rankSingle);
    }

    private static long UsedMemory(IGrouping<string, KeyValuePair<string, string>>[] info) =>
        long.Parse(info.SelectMany(g => g).First(p => p.Key == "used_memory").Value, CultureInfo.InvariantCulture);

    private sealed record Latency(int Count, double P50, double P99);

    private sealed record EndToEndRow(Latency Freshness, Latency Page, Latency Around, long EventsDuringReads);

    private static async Task<EndToEndRow> EndToEnd(CliContext context, int users, int samples, int seconds, int concurrency)
    {
        var url = context.Url;
        var adminKey = context.AdminKey;
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 }) { BaseAddress = new Uri(url) };
        var tenant = "bench-boards-" + DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Console.WriteLine($"  (c) end to end: tenant {tenant}");
        var config = new JsonObject
        {
            ["time_zone"] = "UTC",
            ["measures"] = new JsonObject { ["co2_saved_kg"] = new JsonObject { ["min"] = 0 } },
            ["dimensions"] = new JsonArray("country"),
            ["leaderboards"] = new JsonObject { ["measures"] = new JsonArray("co2_saved_kg"), ["scopes"] = new JsonArray("global", "country"), ["periods"] = new JsonArray("all_time", "month") },
            ["rollups"] = new JsonObject { ["scopes"] = new JsonArray("global", "country"), ["periods"] = new JsonArray("all_time", "month", "day") },
            ["board_shards"] = 4,
        };
        await Send(http, HttpMethod.Put, $"/v1/tenants/{tenant}", adminKey, config.ToJsonString());
        var ingestKey = (string)JsonNode.Parse(await Send(http, HttpMethod.Post, $"/v1/tenants/{tenant}/keys", adminKey, """{"role":"ingest"}"""))!["key"]!;
        var readKey = (string)JsonNode.Parse(await Send(http, HttpMethod.Post, $"/v1/tenants/{tenant}/keys", adminKey, """{"role":"read"}"""))!["key"]!;

        string[] countries = ["US", "DE", "FR", "GB", "JP"];
        long keySeq = 0;
        List<TallyEvent> Batch(int count, Func<int, (string User, decimal Score)> pick)
        {
            var at = DateTimeOffset.UtcNow.AddSeconds(-5);
            var events = new List<TallyEvent>(count);
            for (var i = 0; i < count; i++)
            {
                var (user, score) = pick(i);
                events.Add(new TallyEvent
                {
                    UserId = user, Action = "bike", Measures = new Dictionary<string, decimal> { ["co2_saved_kg"] = score },
                    Dims = new Dictionary<string, string> { ["country"] = countries[(user.GetHashCode() & 0x7fffffff) % countries.Length] },
                    OccurredAt = at, IdempotencyKey = string.Create(CultureInfo.InvariantCulture, $"bb-{Interlocked.Increment(ref keySeq)}"),
                });
            }
            return events;
        }
        // Events go through the .NET client; a batch not acknowledged whole stops the bench (its figures would be wrong).
        using var sender = TallyClient.Create(new TallyClientOptions { BaseAddress = http.BaseAddress, ApiKey = ingestKey, BatchSize = 1000, RequestTimeout = TimeSpan.FromSeconds(60) });
        async Task SendEvents(List<TallyEvent> events)
        {
            var summary = await sender.IngestAsync(events);
            if (summary.Accepted + summary.Duplicates != events.Count)
                throw new CliException($"POST /v1/events: {summary.Rejected} rejected, {summary.Retry} not acknowledged ({summary.Results.FirstOrDefault(r => r.Error is not null)?.Error?.Message}).");
        }

        var seeded = 0L;
        var seeding = Task.Run(async () =>
        {
            for (var start = 0; start < users; start += 1000)
            {
                var n = Math.Min(1000, users - start);
                var s = start;
                await SendEvents(Batch(n, i => ($"user-{s + i}", (s + i) % 997 + 0.25m)));
                Interlocked.Add(ref seeded, n);
            }
        });
        await Progress.Track("seeding users", () => Interlocked.Read(ref seeded), users, seeding);

        // Freshness: each sample tops the board, so the first page shows it once the board has it.
        var freshness = new LatencyRecorder();
        for (var i = 0; i < samples; i++)
        {
            var user = $"fresh-{i}";
            await SendEvents(Batch(1, _ => (user, 1_000_000m + i)));
            var acked = Stopwatch.GetTimestamp();
            while (true)
            {
                var page = JsonNode.Parse(await Send(http, HttpMethod.Get, "/v1/leaderboards/co2_saved_kg?limit=1", readKey, null))!;
                if ((string?)page["entries"]!.AsArray().FirstOrDefault()?["user_id"] == user) break;
                if (Stopwatch.GetElapsedTime(acked) > TimeSpan.FromSeconds(30)) throw new CliException($"{user} did not appear on the board within 30 s.");
                await Task.Delay(5);
            }
            freshness.Record(Stopwatch.GetElapsedTime(acked));
            if (i % 20 == 19) Console.Write($"\r  freshness samples: {i + 1}/{samples}   ");
        }
        Console.WriteLine();

        // Reads under load: a writer keeps posting while readers ask for the top page and around-me.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        long written = 0;
        var writer = Task.Run(async () =>
        {
            var r = new Random(11);
            while (!stop.IsCancellationRequested)
            {
                await SendEvents(Batch(100, _ => ($"user-{r.Next(users)}", r.Next(1, 500) / 4m)));
                Interlocked.Add(ref written, 100);
            }
        });
        var pageLatency = new LatencyRecorder();
        var aroundLatency = new LatencyRecorder();
        long reads = 0;
        var readers = Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var r = new Random(worker);
            while (!stop.IsCancellationRequested)
            {
                var around = worker % 2 == 1;
                var path = around ? $"/v1/leaderboards/co2_saved_kg/users/user-{r.Next(users)}?around=5" : "/v1/leaderboards/co2_saved_kg?limit=100";
                var t0 = Stopwatch.GetTimestamp();
                await Send(http, HttpMethod.Get, path, readKey, null);
                (around ? aroundLatency : pageLatency).Record(Stopwatch.GetElapsedTime(t0));
                Interlocked.Increment(ref reads);
            }
        })));
        await Progress.Track("reads under load", () => Interlocked.Read(ref reads), 0, Task.WhenAll(readers, writer));

        return new EndToEndRow(
            new Latency(samples, freshness.Percentile(50), freshness.Percentile(99)),
            new Latency(pageLatency.Count, pageLatency.Percentile(50), pageLatency.Percentile(99)),
            new Latency(aroundLatency.Count, aroundLatency.Percentile(50), aroundLatency.Percentile(99)),
            Interlocked.Read(ref written));
    }

    private static Task<string> Send(HttpClient http, HttpMethod method, string path, string key, string? body) =>
        Api.SendAsync(http, method, path, key, body);
}
