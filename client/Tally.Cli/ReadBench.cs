using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace Tally.Cli;

/// <summary><c>tally bench read</c>: user-stats reads over HTTP for users that exist (seeded first).</summary>
internal static class ReadBench
{
    public static async Task<int> RunAsync(CliOptions options)
    {
        var reads = options.Int("reads", 200_000);
        var concurrency = options.Int("concurrency", 32);
        var users = options.Int("users", 5_000);
        var url = options.Setting("TALLY_URL");
        var ingestKey = options.Setting("TALLY_DEMO_INGEST_KEY");
        var readKey = options.Setting("TALLY_DEMO_READ_KEY");
        Console.WriteLine($"tally bench read: {reads:N0} reads, {concurrency} concurrent, {users:N0} users");

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency }) { BaseAddress = new Uri(url) };
        await Seed(http, ingestKey, users);

        var latency = new LatencyRecorder();
        long next = -1, done = 0, failed = 0;
        var sw = Stopwatch.StartNew();
        var work = Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker);
            while (Interlocked.Increment(ref next) < reads)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/users/read-bench-{random.Next(users)}/stats");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", readKey);
                var t0 = Stopwatch.GetTimestamp();
                using var response = await http.SendAsync(request);
                await response.Content.LoadIntoBufferAsync();
                latency.Record(Stopwatch.GetElapsedTime(t0));
                if (!response.IsSuccessStatusCode) Interlocked.Increment(ref failed);
                Interlocked.Increment(ref done);
            }
        })));
        await Progress.Track("reads", () => Interlocked.Read(ref done), reads, work);
        if (failed > 0) Console.WriteLine($"  warning: {failed} reads failed");
        var row = new BenchRow($"GET /v1/users/{{id}}/stats, {concurrency} concurrent", reads, sw.Elapsed, latency.Percentile(50), latency.Percentile(99), "one read");

        var body = new StringBuilder()
            .AppendLine("## Reads")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"Command: `tally bench read --reads {reads} --concurrency {concurrency} --users {users}` against `deploy/local/up`.  ")
            .AppendLine(CultureInfo.InvariantCulture, $"Date: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC. Machine: {BenchReport.Machine()}. Client, API, silo and PostgreSQL share the machine.")
            .AppendLine()
            .Append(BenchReport.Table([row], "reads"))
            .ToString();
        Console.WriteLine();
        Console.WriteLine(body);
        Console.WriteLine($"written to {BenchReport.Write(options.RepoRoot, "read", body)}");
        return 0;
    }

    private static async Task Seed(HttpClient http, string key, int users)
    {
        var at = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        for (var start = 0; start < users; start += 1000)
        {
            var sb = new StringBuilder("{\"events\":[");
            for (var u = start; u < Math.Min(users, start + 1000); u++)
            {
                if (u > start) sb.Append(',');
                sb.Append("{\"user_id\":\"read-bench-").Append(u).Append("\",\"action\":\"bike\",\"measures\":{\"co2_saved_kg\":1.5},\"occurred_at\":\"")
                  .Append(at).Append("\",\"idempotency_key\":\"read-bench-seed-").Append(u).Append("\"}");
            }
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = new StringContent(sb.Append("]}").ToString(), Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await http.SendAsync(request);
            if (!response.IsSuccessStatusCode) throw new CliException($"seeding users failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }
}
