using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Tally.Client;

namespace Tally.Cli.Bench;

/// <summary>
/// <c>tally bench read</c>: user-stats reads with ranks (tenant <c>bench</c>, 12 leaderboards), without ranks
/// (tenant <c>bench-plain</c>, no boards), and top-100 leaderboard pages while ingest runs; the median of
/// <c>--runs</c> runs of each.
/// </summary>
internal static class ReadBench
{
    internal sealed record Settings(int Reads, int Concurrency, int Users, int Runs, bool WriteDocs);

    public static async Task<int> RunAsync(CliContext context, Settings s)
    {
        Console.WriteLine($"tally bench read: {s.Reads:N0} reads per scenario, {s.Concurrency} concurrent, {s.Users:N0} users, {s.Runs} runs");
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = s.Concurrency * 2 }) { BaseAddress = new Uri(context.Url), Timeout = TimeSpan.FromSeconds(60) };
        var ranked = await BenchTenant.EnsureAsync(http, context.AdminKey, "bench", BenchTenant.ClimateConfig());
        var plain = await BenchTenant.EnsureAsync(http, context.AdminKey, "bench-plain", BenchTenant.PlainConfig());
        // Events go through the .NET client (src/Tally.Client). The timed reads stay raw GETs read into a buffer: binding
        // each answer to the client's types would spend the cores the client shares with the cluster on the client.
        using var rankedSender = Sender(context, ranked.IngestKey);
        using var plainSender = Sender(context, plain.IngestKey);
        await Seed(rankedSender, s.Users);
        await Seed(plainSender, s.Users);

        // Untimed first: the first reads after a start activate grains and shards and run code the JIT has not yet
        // optimised, which would otherwise be timed in run 1 only.
        var warmUp = s with { Reads = Math.Min(s.Reads / 10, 20_000) };
        Console.WriteLine($"warm-up: {warmUp.Reads:N0} untimed reads of each kind");
        await ReadsAsync(http, ranked.ReadKey, warmUp, "warm-up, stats with ranks", r => $"/v1/users/read-bench-{r.Next(s.Users)}/stats");
        await ReadsAsync(http, plain.ReadKey, warmUp, "warm-up, stats without boards", r => $"/v1/users/read-bench-{r.Next(s.Users)}/stats");
        await ReadsAsync(http, ranked.ReadKey, warmUp, "warm-up, pages", _ => "/v1/leaderboards/co2_saved_kg?limit=100");

        BenchRow Median(List<BenchRow> rows) => rows.OrderBy(r => r.PerSecond).ElementAt(rows.Count / 2);
        var withRanks = new List<BenchRow>();
        // The silo's metrics say how many ranked reads took the ranks of the user's previous read (StatsRankReuseMs).
        var metricsUrl = context.Optional("TALLY_DASHBOARD_URL") is { } dashboard ? dashboard.Replace("/dashboard", "/metrics") : null;
        var reuse = new List<double>();
        var withoutRanks = new List<BenchRow>();
        var pages = new List<BenchRow>();
        for (var run = 0; run < s.Runs; run++)
        {
            Console.WriteLine($"run {run + 1} of {s.Runs}");
            var ranksBefore = await RankReadsAsync(http, metricsUrl);
            withRanks.Add(await ReadsAsync(http, ranked.ReadKey, s, $"GET /v1/users/{{id}}/stats with ranks (12 boards), {s.Concurrency} concurrent",
                r => $"/v1/users/read-bench-{r.Next(s.Users)}/stats"));
            if (ranksBefore is { } b && await RankReadsAsync(http, metricsUrl) is { } a && a.Probed + a.Recent > b.Probed + b.Recent)
            {
                var share = (double)(a.Recent - b.Recent) / (a.Probed + a.Recent - b.Probed - b.Recent);
                reuse.Add(share);
                Console.WriteLine($"  ranks reused from the user's previous read: {share:P0}");
            }
            withoutRanks.Add(await ReadsAsync(http, plain.ReadKey, s, $"GET /v1/users/{{id}}/stats without boards, {s.Concurrency} concurrent",
                r => $"/v1/users/read-bench-{r.Next(s.Users)}/stats"));
            // Top-100 pages while a writer keeps the board moving (so cached pages keep giving way).
            using var stop = new CancellationTokenSource();
            var writer = WriteUntilAsync(rankedSender, s.Users, stop.Token);
            pages.Add(await ReadsAsync(http, ranked.ReadKey, s, $"GET /v1/leaderboards/co2_saved_kg?limit=100 during ingest, {s.Concurrency} concurrent",
                r => r.Next(4) switch
                {
                    0 => "/v1/leaderboards/co2_saved_kg?limit=100",
                    1 => "/v1/leaderboards/co2_saved_kg?limit=100&period=month",
                    2 => "/v1/leaderboards/co2_saved_kg?limit=100&scope=country:DE",
                    _ => "/v1/leaderboards/co2_saved_kg?limit=100&period=week",
                }));
            await stop.CancelAsync();
            var written = await writer;
            Console.WriteLine($"  events accepted while pages were read: {written:N0}");
        }

        var inv = CultureInfo.InvariantCulture;
        var body = new StringBuilder()
            .AppendLine("## Reads")
            .AppendLine()
            .AppendLine(inv, $"Command: `tally bench read --reads {s.Reads} --concurrency {s.Concurrency} --users {s.Users} --runs {s.Runs} --write-docs` against `deploy/local/up`.  ")
            .AppendLine(inv, $"Date: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC. Machine: {BenchReport.Machine()}. Client, API, silo, PostgreSQL and Redis share the machine.")
            .AppendLine()
            .AppendLine(inv, $"Median of {s.Runs} runs per scenario, after an untimed warm-up of {Math.Min(s.Reads / 10, 20_000):N0} reads of each kind. Pages: a background writer posts batches of 100 events to the same board throughout.")
            .AppendLine()
            .Append(BenchReport.Table([Median(withRanks), Median(withoutRanks), Median(pages)], "reads"))
            .AppendLine()
            .AppendLine("Every run (reads/s): with ranks " + string.Join(", ", withRanks.Select(r => r.PerSecond.ToString("N0", inv)))
                        + "; without boards " + string.Join(", ", withoutRanks.Select(r => r.PerSecond.ToString("N0", inv)))
                        + "; pages " + string.Join(", ", pages.Select(r => r.PerSecond.ToString("N0", inv))) + ".");
        if (reuse.Count == s.Runs)
            body.AppendLine().AppendLine("Ranked reads that took the ranks of the same user's read less than `Tally:Boards:StatsRankReuseMs` before (silo metric "
                                          + "`tally_stats_rank_reads`), per run: " + string.Join(", ", reuse.Select(r => r.ToString("P0", inv))) + ".");
        BenchReport.Publish(context.RepoRoot, "read", body.ToString(), s.WriteDocs);
        return TallyCli.Success;
    }

    internal static async Task<BenchRow> ReadsAsync(HttpClient http, string key, Settings s, string label, Func<Random, string> path)
    {
        var latency = new LatencyRecorder();
        long next = -1, done = 0, failed = 0;
        var sw = Stopwatch.StartNew();
        var work = Task.WhenAll(Enumerable.Range(0, s.Concurrency).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker + Environment.TickCount);
            while (Interlocked.Increment(ref next) < s.Reads)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path(random));
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                var t0 = Stopwatch.GetTimestamp();
                using var response = await http.SendAsync(request);
                await response.Content.LoadIntoBufferAsync();
                latency.Record(Stopwatch.GetElapsedTime(t0));
                if (!response.IsSuccessStatusCode) Interlocked.Increment(ref failed);
                Interlocked.Increment(ref done);
            }
        })));
        await Progress.Track(label, () => Interlocked.Read(ref done), s.Reads, work);
        if (failed > 0) throw new CliException($"{failed} of {s.Reads} reads failed ({label}).");
        return new BenchRow(label, s.Reads, sw.Elapsed, latency.Percentile(50), latency.Percentile(99), "one read");
    }

    /// <summary>The silo's counts of ranked stats reads (probed, recent), or null where its metrics cannot be read.</summary>
    private static async Task<(long Probed, long Recent)?> RankReadsAsync(HttpClient http, string? metricsUrl)
    {
        if (metricsUrl is null) return null;
        try
        {
            long probed = 0, recent = 0;
            foreach (var line in (await http.GetStringAsync(metricsUrl)).Split('\n'))
            {
                if (!line.StartsWith("tally_stats_rank_reads_total{", StringComparison.Ordinal)) continue;
                var value = long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
                if (line.Contains("source=\"recent\"", StringComparison.Ordinal)) recent += value;
                else probed += value;
            }
            return (probed, recent);
        }
        catch (Exception ex) when (ex is HttpRequestException or FormatException or TaskCanceledException)
        {
            return null;
        }
    }

    private static async Task<long> WriteUntilAsync(TallyClient client, int users, CancellationToken stop)
    {
        var random = new Random(7);
        long written = 0, batch = 0;
        var run = Guid.NewGuid().ToString("N")[..8];
        while (!stop.IsCancellationRequested)
        {
            var at = DateTimeOffset.UtcNow.AddMinutes(-1);
            var events = Enumerable.Range(0, 100).Select(i => Event($"read-bench-{random.Next(users)}", random.Next(1, 400) / 4m, $"org-{random.Next(50)}", at,
                string.Create(CultureInfo.InvariantCulture, $"rb-{run}-{batch}-{i}"))).ToList();
            batch++;
            try
            {
                written += (await client.IngestAsync(events, stop)).Accepted;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        }
        return written;
    }

    /// <summary>Every user's one event (the same keys each time, so a second seed only adds duplicates).</summary>
    private static async Task Seed(TallyClient client, int users)
    {
        var at = DateTimeOffset.UtcNow.AddMinutes(-5);
        var events = Enumerable.Range(0, users).Select(u => Event($"read-bench-{u}", u % 97 + 1, $"org-{u % 50}", at, $"read-bench-seed-{u}")).ToList();
        var summary = await client.IngestAsync(events);
        if (summary.Rejected + summary.Retry > 0)
            throw new CliException($"seeding {users} users: {summary.Rejected} rejected, {summary.Retry} not acknowledged ({summary.Results.FirstOrDefault(r => r.Error is not null)?.Error?.Message}).");
    }

    private static TallyEvent Event(string user, decimal kg, string org, DateTimeOffset at, string key) => new()
    {
        UserId = user, Action = "bike", Measures = new Dictionary<string, decimal> { ["co2_saved_kg"] = kg },
        Dims = new Dictionary<string, string> { ["country"] = "DE", ["org"] = org }, OccurredAt = at, IdempotencyKey = key,
    };

    private static TallyClient Sender(CliContext context, string ingestKey) => TallyClient.Create(new TallyClientOptions
    {
        BaseAddress = new Uri(context.Url), ApiKey = ingestKey, BatchSize = 1000, MaxAttempts = 10, RequestTimeout = TimeSpan.FromSeconds(60),
    });
}
