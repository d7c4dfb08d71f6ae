using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using Tally.Cli.Bench;

namespace Tally.Cli.Verify;

/// <summary>
/// <c>tally verify run</c>: a workload that must survive faults. For <c>--seconds</c> it posts batches of
/// events (deterministic keys) and reads stats, retrying every unanswered or 503 batch with the same keys
/// until it is acknowledged; then it drains. Every event is written to <c>workload.ndjson</c> before it is
/// sent and every acknowledgement to <c>acks.ndjson</c>, so <c>tally verify check</c> can prove the log
/// against both; every request's outcome goes to <c>requests.csv</c> (how a fault looked to a client).
/// </summary>
internal static class VerifyWorkload
{
    internal sealed record Settings(string Tenant, int Users, int Batch, int Concurrency, int Seconds, int DrainSeconds, string Directory);

    /// <summary>The tenant's config: boards and rollups the checker can recompute from the log.</summary>
    public static JsonObject Config() => new()
    {
        ["time_zone"] = "UTC",
        ["measures"] = new JsonObject { ["co2"] = new JsonObject { ["min"] = 0, ["max"] = 1000 } },
        ["dimensions"] = new JsonArray("country"),
        ["leaderboards"] = new JsonObject { ["measures"] = new JsonArray("co2"), ["scopes"] = new JsonArray("global", "country"), ["periods"] = new JsonArray("all_time") },
        ["rollups"] = new JsonObject { ["scopes"] = new JsonArray("global", "country"), ["periods"] = new JsonArray("all_time") },
        ["board_shards"] = 2,
    };

    public static readonly string[] Countries = ["US", "DE", "FR"];

    public static async Task<int> RunAsync(CliContext context, Settings s)
    {
        System.IO.Directory.CreateDirectory(s.Directory);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = s.Concurrency * 2, ConnectTimeout = TimeSpan.FromSeconds(2) })
        {
            BaseAddress = new Uri(context.Url), Timeout = TimeSpan.FromSeconds(30),
        };
        var tenant = await WithRetryAsync(() => BenchTenant.EnsureAsync(http, context.AdminKey, s.Tenant, Config()), TimeSpan.FromSeconds(60));
        File.WriteAllText(Path.Combine(s.Directory, "tenant.json"), JsonSerializer.Serialize(new { tenant = tenant.Id, read_key = tenant.ReadKey, ingest_key = tenant.IngestKey }));
        AnsiConsole.MarkupLineInterpolated($"verify run: tenant {tenant.Id}, {s.Users} users, batches of {s.Batch}, {s.Concurrency} writers for {s.Seconds} s, then drain");

        await using var workload = new StreamWriter(Path.Combine(s.Directory, "workload.ndjson"), append: false) { AutoFlush = true };
        await using var acks = new StreamWriter(Path.Combine(s.Directory, "acks.ndjson"), append: false) { AutoFlush = true };
        await using var requests = new StreamWriter(Path.Combine(s.Directory, "requests.csv"), append: false) { AutoFlush = true };
        await requests.WriteLineAsync("unix_ms,kind,status,latency_ms");
        var files = new Lock();

        long batchSeq = 0, acked = 0, attempts = 0, failures = 0, reads = 0, readFailures = 0;
        var start = Stopwatch.StartNew();
        var sendUntil = TimeSpan.FromSeconds(s.Seconds);
        var drainUntil = sendUntil + TimeSpan.FromSeconds(s.DrainSeconds);
        var unacked = new ConcurrentDictionary<long, byte>();

        void Log(string kind, int status, TimeSpan latency)
        {
            lock (files) requests.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()},{kind},{status},{latency.TotalMilliseconds:0}"));
        }

        async Task<int> PostAsync(string body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tenant.IngestKey);
            var t0 = Stopwatch.GetTimestamp();
            try
            {
                using var response = await http.SendAsync(request);
                var status = (int)response.StatusCode;
                Log("ingest", status, Stopwatch.GetElapsedTime(t0));
                if (status != 200) return status;
                var results = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["results"]!.AsArray();
                lock (files)
                    foreach (var r in results)
                        acks.WriteLine(JsonSerializer.Serialize(new { key = (string)r!["idempotency_key"]!, status = (string)r["status"]! }));
                return 200;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                Log("ingest", 0, Stopwatch.GetElapsedTime(t0));
                return 0;
            }
        }

        var writers = Enumerable.Range(0, s.Concurrency).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker * 7919 + 1);
            while (start.Elapsed < sendUntil)
            {
                var batchNo = Interlocked.Increment(ref batchSeq);
                var body = Batch(batchNo, s, random, workload, files);
                unacked[batchNo] = 0;
                // Retried with the same keys until acknowledged: the contract says that is always safe.
                var delay = TimeSpan.FromMilliseconds(100);
                while (true)
                {
                    Interlocked.Increment(ref attempts);
                    var status = await PostAsync(body);
                    if (status == 200) break;
                    Interlocked.Increment(ref failures);
                    if (status is 400 or 401 or 403 or 413) throw new CliException($"batch {batchNo} was refused with {status}; the workload is wrong, not the cluster.");
                    if (start.Elapsed > drainUntil) throw new CliException($"batch {batchNo} was not acknowledged within the drain time.");
                    await Task.Delay(delay);
                    delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
                }
                unacked.TryRemove(batchNo, out _);
                Interlocked.Add(ref acked, s.Batch);
            }
        })).ToList();

        // Readers: a user's stats must keep answering (from the survivor when a silo is down).
        var readers = Enumerable.Range(0, 2).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker + 17);
            while (start.Elapsed < sendUntil)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/users/v-user-{random.Next(s.Users)}/stats");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tenant.ReadKey);
                var t0 = Stopwatch.GetTimestamp();
                int status;
                try
                {
                    using var response = await http.SendAsync(request);
                    status = (int)response.StatusCode;
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    status = 0;
                }
                Log("read", status, Stopwatch.GetElapsedTime(t0));
                Interlocked.Increment(ref reads);
                if (status is not (200 or 404)) Interlocked.Increment(ref readFailures);
                await Task.Delay(20);
            }
        })).ToList();

        await Bench.Progress.Track("events acknowledged", () => Interlocked.Read(ref acked), 0, Task.WhenAll(writers.Concat(readers)));
        AnsiConsole.MarkupLineInterpolated($"verify run: {acked:N0} events acknowledged in {batchSeq:N0} batches ({attempts:N0} attempts, {failures:N0} failed and retried); {reads:N0} reads, {readFailures:N0} failed");
        return TallyCli.Success;
    }

    private static string Batch(long batchNo, Settings s, Random random, StreamWriter workload, Lock files)
    {
        var now = DateTimeOffset.UtcNow;
        var sb = new StringBuilder("{\"events\":[");
        for (var i = 0; i < s.Batch; i++)
        {
            var user = $"v-user-{random.Next(s.Users)}";
            var key = $"v-{batchNo}-{i}";
            var co2 = random.Next(0, 10_000) / 100m;
            var at = now.AddSeconds(-random.Next(0, 600)).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            // Some events carry no country, so the global board and the country boards differ.
            var country = random.Next(4) == 0 ? null : Countries[random.Next(Countries.Length)];
            if (i > 0) sb.Append(',');
            sb.Append(CultureInfo.InvariantCulture, $"{{\"user_id\":\"{user}\",\"action\":\"ride\",\"measures\":{{\"co2\":{co2}}},");
            if (country is not null) sb.Append(CultureInfo.InvariantCulture, $"\"dims\":{{\"country\":\"{country}\"}},");
            sb.Append(CultureInfo.InvariantCulture, $"\"occurred_at\":\"{at}\",\"idempotency_key\":\"{key}\"}}");
            lock (files) workload.WriteLine(JsonSerializer.Serialize(new { key, user, co2, country }));
        }
        return sb.Append("]}").ToString();
    }

    private static async Task<T> WithRetryAsync<T>(Func<Task<T>> action, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            try
            {
                return await action();
            }
            catch (Exception ex) when (DateTime.UtcNow < deadline && ex is HttpRequestException or CliException or TaskCanceledException)
            {
                await Task.Delay(500);
            }
        }
    }
}
