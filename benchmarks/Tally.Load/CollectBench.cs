using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Tally.Client;

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
        var batches = new List<List<JsonObject>>();
        var now = DateTimeOffset.UtcNow;
        for (var sent = 0; sent < s.Events; sent += s.Batch)
        {
            var events = new List<JsonObject>();
            for (var i = sent; i < Math.Min(s.Events, sent + s.Batch); i++)
                events.Add(new JsonObject
                {
                    ["event_type"] = Types[i % Types.Length], ["timestamp"] = now.AddMilliseconds(-i).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
                    ["event_id"] = Guid.NewGuid().ToString(), ["visitor_id"] = $"v{i % 20_000}", ["session_id"] = $"s{i % 40_000}",
                    ["site_id"] = $"site-{i % 5}", ["url"] = $"https://site-{i % 5}.example/p/{i % 500}?utm=bench",
                    ["data"] = new JsonObject { ["scroll"] = (i % 100) / 100.0, ["viewport"] = "1280x800", ["note"] = filler },
                });
            batches.Add(events);
        }
        // What goes over the wire once per batch (the client writes the same bytes), counted before the clock starts.
        var bytes = batches.Sum(b => (long)Encoding.UTF8.GetByteCount(new JsonObject { ["events"] = new JsonArray([.. b.Select(e => e.DeepClone())]) }.ToJsonString()));
        // The .NET client sends each batch, as an application's server-side tracker would: a request answered 429/503 or
        // holding events to retry is sent again with the same event ids (those already durable then answer duplicate).
        using var client = TallyClient.Create(new TallyClientOptions
        {
            BaseAddress = new Uri(context.Url), ApiKey = tenant.IngestKey, BatchSize = s.Batch, MaxAttempts = 20, RequestTimeout = TimeSpan.FromSeconds(60),
        });
        var latencies = new List<double>();
        long accepted = 0, resent = 0;
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, s.Concurrency).Select(_ => Task.Run(async () =>
        {
            for (var b = Interlocked.Increment(ref next); b < batches.Count; b = Interlocked.Increment(ref next))
            {
                var started = Stopwatch.GetTimestamp();
                var summary = await client.CollectAsync(batches[b]);
                var ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                lock (latencies) latencies.Add(ms);
                if (summary.Rejected > 0 || summary.Retry > 0)
                    throw new CliException($"POST /v1/collect: {summary.Rejected} events rejected, {summary.Retry} still to retry after {summary.Requests} attempts: " +
                                           summary.Results.FirstOrDefault(r => r.Error is not null)?.Error?.Message);
                Interlocked.Add(ref resent, summary.Requests - 1);
                Interlocked.Add(ref accepted, summary.Accepted + summary.Duplicates);
            }
        })));
        var seconds = watch.Elapsed.TotalSeconds;
        latencies.Sort();
        double Pct(double p) => latencies[Math.Min(latencies.Count - 1, (int)(p * latencies.Count))];
        var inv = CultureInfo.InvariantCulture;
        var body = new StringBuilder()
            .AppendLine("## Raw event collection")
            .AppendLine()
            .AppendLine(inv, $"Command: `tally bench collect --events {s.Events} --batch {s.Batch} --concurrency {s.Concurrency} --payload {s.PayloadBytes} --write-docs` against `deploy/local/up`.  ")
            .AppendLine(inv, $"Date: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC. Machine: {BenchReport.Machine()}. Client, API, silo, PostgreSQL and Redis share the machine.")
            .AppendLine()
            .AppendLine(inv, $"`POST /v1/collect` sent by the .NET client (`TallyClient.CollectAsync`) in batches: {s.Events:N0} raw events (page views, clicks, scrolls of 20,000 visitors on 5 sites), each with an event id and a `data` object of about {s.PayloadBytes} bytes; every event acknowledged as durable (accepted, or duplicate when its batch was sent again: requests answered 429/503 or holding events to retry are sent again with the same ids, {resent} times). MB/s counts the request bodies sent once each; a batch's latency runs from its first attempt to its acknowledgement.")
            .AppendLine()
            .AppendLine("| events | seconds | events/s | request MB/s | batch p50 ms | batch p99 ms |")
            .AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: |")
            .AppendLine(inv, $"| {accepted:N0} | {seconds:0.0} | {accepted / seconds:N0} | {bytes / 1048576.0 / seconds:0.0} | {Pct(0.5):0} | {Pct(0.99):0} |");
        if (accepted != s.Events) throw new CliException($"{accepted} events accepted, {s.Events} sent.");
        BenchReport.Publish(context.RepoRoot, "collect", body.ToString(), s.WriteDocs);
        return TallyCli.Success;
    }
}
