using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Tally.Cli.Bench;

/// <summary>
/// <c>tally bench collect</c>: a tracking script's load on <c>POST /v1/collect</c>: batches of raw events (page views,
/// clicks, scrolls of many visitors and sessions) each with a ~1 KB <c>data</c> payload, sent by a few concurrent
/// clients; events/s and request MB/s, and the latency of a request. Every event must be accepted (durable); a request
/// answered 429/503 or with events to retry is sent again with the same event ids, as the tracker does.
/// </summary>
internal static class CollectBench
{
    internal sealed record Settings(int Events, int Batch, int Concurrency, int PayloadBytes, bool WriteDocs);

    private static readonly string[] Types = ["page_view", "click", "scroll", "page_view", "page_view"];

    public static async Task<int> RunAsync(CliContext context, Settings s)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = s.Concurrency * 2 }) { BaseAddress = new Uri(context.Url), Timeout = TimeSpan.FromSeconds(60) };
        var tenantId = $"bench-collect-{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}";
        var config = new JsonObject
        {
            ["time_zone"] = "UTC",
            ["measures"] = new JsonObject { ["events"] = new JsonObject { ["min"] = 0 } },
            ["dimensions"] = new JsonArray("event_type", "site_id"),
            ["rollups"] = new JsonObject { ["scopes"] = new JsonArray("global", "event_type"), ["periods"] = new JsonArray("all_time", "day") },
            ["collect"] = new JsonObject { ["allowed_origins"] = new JsonArray("*") },
        };
        var tenant = await BenchTenant.EnsureAsync(http, context.AdminKey, tenantId, config);
        Console.WriteLine($"tally bench collect: {s.Events:N0} raw events in batches of {s.Batch}, {s.Concurrency} concurrent, ~{s.PayloadBytes} B of data each, tenant {tenantId}");

        var filler = new string('x', Math.Max(0, s.PayloadBytes - 120));
        var bodies = new List<byte[]>();
        var now = DateTimeOffset.UtcNow;
        for (var sent = 0; sent < s.Events; sent += s.Batch)
        {
            var events = new JsonArray();
            for (var i = sent; i < Math.Min(s.Events, sent + s.Batch); i++)
                events.Add(new JsonObject
                {
                    ["event_type"] = Types[i % Types.Length], ["timestamp"] = now.AddMilliseconds(-i).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
                    ["event_id"] = Guid.NewGuid().ToString(), ["visitor_id"] = $"v{i % 20_000}", ["session_id"] = $"s{i % 40_000}",
                    ["site_id"] = $"site-{i % 5}", ["url"] = $"https://site-{i % 5}.example/p/{i % 500}?utm=bench",
                    ["data"] = new JsonObject { ["scroll"] = (i % 100) / 100.0, ["viewport"] = "1280x800", ["note"] = filler },
                });
            bodies.Add(Encoding.UTF8.GetBytes(new JsonObject { ["eventType"] = "batch", ["events"] = events }.ToJsonString()));
        }
        var latencies = new List<double>();
        long accepted = 0, resent = 0;
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, s.Concurrency).Select(async _ =>
        {
            for (var b = Interlocked.Increment(ref next); b < bodies.Count; b = Interlocked.Increment(ref next))
                while (true)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/collect") { Content = new ByteArrayContent(bodies[b]) };
                    request.Content.Headers.ContentType = new("application/json");
                    request.Headers.Authorization = new("Bearer", tenant.IngestKey);
                    var started = Stopwatch.GetTimestamp();
                    using var response = await http.SendAsync(request);
                    var text = await response.Content.ReadAsStringAsync();
                    var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    lock (latencies) latencies.Add(ms);
                    if ((int)response.StatusCode is 429 or 503) { Interlocked.Increment(ref resent); await Task.Delay(200); continue; }
                    if (!response.IsSuccessStatusCode) throw new CliException($"POST /v1/collect: {(int)response.StatusCode} {text}");
                    var answer = JsonNode.Parse(text)!;
                    if ((long)answer["rejected"]! > 0) throw new CliException($"POST /v1/collect rejected events: {text[..Math.Min(400, text.Length)]}");
                    // Events answered retry are sent again with the batch; those already durable then answer duplicate.
                    var results = answer["results"]!.AsArray();
                    var retry = results.Count(r => (string)r!["status"]! == "retry");
                    if (retry == 0)
                    {
                        Interlocked.Add(ref accepted, results.Count);
                        break;
                    }
                    Interlocked.Increment(ref resent);
                }
        }));
        var seconds = watch.Elapsed.TotalSeconds;
        var bytes = bodies.Sum(b => (long)b.Length);
        latencies.Sort();
        double Pct(double p) => latencies[Math.Min(latencies.Count - 1, (int)(p * latencies.Count))];
        var inv = CultureInfo.InvariantCulture;
        var body = new StringBuilder()
            .AppendLine("## Raw event collection")
            .AppendLine()
            .AppendLine(inv, $"Command: `tally bench collect --events {s.Events} --batch {s.Batch} --concurrency {s.Concurrency} --payload {s.PayloadBytes} --write-docs` against `deploy/local/up`.  ")
            .AppendLine(inv, $"Date: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC. Machine: {BenchReport.Machine()}. Client, API, silo, PostgreSQL and Redis share the machine.")
            .AppendLine()
            .AppendLine(inv, $"`POST /v1/collect` with the tracker's batch envelope: {s.Events:N0} raw events (page views, clicks, scrolls of 20,000 visitors on 5 sites), each with an event id and a `data` object of about {s.PayloadBytes} bytes; every event acknowledged as durable (accepted, or duplicate when its batch was sent again: requests answered 429/503 or holding events to retry are sent again with the same ids, {resent} times). MB/s counts the request bodies sent once each.")
            .AppendLine()
            .AppendLine("| events | seconds | events/s | request MB/s | request p50 ms | request p99 ms |")
            .AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: |")
            .AppendLine(inv, $"| {accepted:N0} | {seconds:0.0} | {accepted / seconds:N0} | {bytes / 1048576.0 / seconds:0.0} | {Pct(0.5):0} | {Pct(0.99):0} |");
        if (accepted != s.Events) throw new CliException($"{accepted} events accepted, {s.Events} sent.");
        BenchReport.Publish(context.RepoRoot, "collect", body.ToString(), s.WriteDocs);
        return TallyCli.Success;
    }
}
