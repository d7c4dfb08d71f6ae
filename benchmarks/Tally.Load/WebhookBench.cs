using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Tally.Client;
using Tally.Domain.Webhooks;

namespace Tally.Cli.Bench;

/// <summary>
/// <c>tally bench webhooks</c>: a burst of tier changes (a backdated import: each user enters the entry tier and is
/// promoted at once, two changes) delivered to a webhook receiver on loopback, in order, while another tenant ingests at a
/// steady pace: deliveries per second, and that tenant's ingest latency before and during the delivery.
/// The stack must allow private webhook targets (<c>deploy/local/up</c> does).
/// </summary>
internal static class WebhookBench
{
    internal sealed record Settings(int Changes, bool WriteDocs);

    private const int Batch = 500;
    private const int OtherConcurrency = 4;
    private const int OtherBatch = 100;

    public static async Task<int> RunAsync(CliContext context, Settings s)
    {
        var users = (s.Changes + 1) / 2;
        var stamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var admin = new HttpClient { BaseAddress = new Uri(context.Url), Timeout = TimeSpan.FromSeconds(60) };
        var loyalty = await BenchTenant.EnsureAsync(admin, context.AdminKey, $"bench-webhooks-{stamp}", new JsonObject
        {
            ["time_zone"] = "UTC",
            ["measures"] = new JsonObject { ["sales"] = new JsonObject { ["min"] = 0 } },
            ["checkpoint"] = new JsonObject
            {
                ["measure"] = "sales", ["months"] = 4,
                ["tiers"] = new JsonArray(new JsonObject { ["name"] = "bronze", ["threshold"] = 0 }, new JsonObject { ["name"] = "silver", ["threshold"] = 100 }),
            },
        });
        var other = await BenchTenant.EnsureAsync(admin, context.AdminKey, $"bench-webhooks-other-{stamp}", BenchTenant.ClimateConfig());
        using var receiver = Receiver.Start();
        var (secret, webhookId) = await RegisterAsync(admin, context.AdminKey, loyalty.Id, receiver.Url);
        Console.WriteLine($"tally bench webhooks: {users * 2:N0} tier changes of tenant {loyalty.Id} to {receiver.Url} (webhook {webhookId}), " +
                          $"while tenant {other.Id} ingests ({OtherConcurrency} x {OtherBatch} events in flight)");

        using var cancel = new CancellationTokenSource();
        var before = new LatencyRecorder();
        var during = new LatencyRecorder();
        LatencyRecorder current = before;
        var otherIngest = SteadyIngestAsync(context.Url, other.IngestKey, () => current, cancel.Token);
        await Task.Delay(TimeSpan.FromSeconds(10));

        current = during;
        var burstStarted = Stopwatch.StartNew();
        await SendBurstAsync(context.Url, loyalty.IngestKey, users);
        var burstAcked = burstStarted.Elapsed;
        var expected = users * 2;
        await Progress.Track("changes delivered", () => receiver.Count, expected,
            WaitAsync(() => receiver.Count >= expected, TimeSpan.FromMinutes(10)));
        var deliveredAt = burstStarted.Elapsed;
        cancel.Cancel();
        await otherIngest;

        var (inOrder, resent, badSignatures) = receiver.Check(secret);
        var span = receiver.LastAt - receiver.FirstAt;
        var perSecond = (receiver.Count - 1) / Math.Max(span.TotalSeconds, 0.001);
        var inv = CultureInfo.InvariantCulture;
        var body = new StringBuilder()
            .AppendLine("## Webhooks: a burst of tier changes")
            .AppendLine()
            .AppendLine(inv, $"Command: `tally bench webhooks --changes {s.Changes} --write-docs` against `deploy/local/up` (webhooks to loopback allowed).  ")
            .AppendLine(inv, $"Date: {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC. Machine: {BenchReport.Machine()}. Client, receiver, API, silo, PostgreSQL and Redis share the machine.")
            .AppendLine()
            .AppendLine(inv, $"A backdated import of {users:N0} creators (one sale each: entered, then promoted) makes {expected:N0} `tier_changed` changes in {burstAcked.TotalSeconds:0.0} s; one webhook receives them on loopback, one at a time in feed order (an HTTP listener answering 200 at once).")
            .AppendLine()
            .AppendLine("| figure | value |")
            .AppendLine("| --- | ---: |")
            .AppendLine(inv, $"| changes delivered | {receiver.Count:N0} of {expected:N0} |")
            .AppendLine(inv, $"| deliveries per second (first to last delivery) | {perSecond:N0} |")
            .AppendLine(inv, $"| from the burst's first request to the last delivery | {deliveredAt.TotalSeconds:0.0} s |")
            .AppendLine(inv, $"| in feed order / resent / bad signatures | {(inOrder ? "yes" : "NO")} / {resent} / {badSignatures} |")
            .AppendLine(inv, $"| another tenant's ingest before (p50 / p99, requests of {OtherBatch}) | {before.Percentile(50):0.0} / {before.Percentile(99):0.0} ms ({before.Count:N0} requests) |")
            .AppendLine(inv, $"| the same during the burst and its delivery | {during.Percentile(50):0.0} / {during.Percentile(99):0.0} ms ({during.Count:N0} requests) |");
        BenchReport.Publish(context.RepoRoot, "webhooks", body.ToString(), s.WriteDocs);
        return inOrder && badSignatures == 0 && receiver.Count >= expected ? TallyCli.Success : TallyCli.Failed;
    }

    private static async Task<(string Secret, string Id)> RegisterAsync(HttpClient admin, string adminKey, string tenant, string url)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/tenants/{tenant}/webhooks")
        {
            Content = new StringContent(new JsonObject { ["url"] = url, ["kinds"] = new JsonArray("tier_changed") }.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        using var response = await admin.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
            throw new CliException($"registering the webhook: {(int)response.StatusCode} {text} (the stack must allow webhooks to loopback: Tally__Webhooks__AllowPrivateTargets=true, as deploy/local/up sets)");
        var hook = JsonNode.Parse(text)!;
        return ((string)hook["secret"]!, (string)hook["webhook_id"]!);
    }

    /// <summary>Each creator's one sale, dated within the last four weeks, in requests of <see cref="Batch"/>, sent with the
    /// .NET client (a refused request or an event answered <c>retry</c> is sent again with its key).</summary>
    private static async Task SendBurstAsync(string url, string key, int users)
    {
        using var client = TallyClient.Create(new TallyClientOptions
        {
            BaseAddress = new Uri(url), ApiKey = key, BatchSize = Batch, MaxAttempts = 20, RetryDelay = TimeSpan.FromMilliseconds(500), RequestTimeout = TimeSpan.FromSeconds(60),
        });
        var now = DateTimeOffset.UtcNow;
        var sales = Enumerable.Range(0, users).Select(u => new TallyEvent
        {
            UserId = $"creator-{u}", Action = "sale", Measures = new Dictionary<string, decimal> { ["sales"] = 200 },
            OccurredAt = now.AddMinutes(-(u % 40_000)), IdempotencyKey = $"burst-{u}",
        }).ToList();
        var summary = await client.IngestAsync(sales);
        if (summary.Accepted + summary.Duplicates != users)
            throw new CliException($"the burst was not acknowledged whole: {summary.Rejected} rejected, {summary.Retry} still to retry after {summary.Requests} requests");
    }

    /// <summary>Other tenants' ingest while the deliveries go: each worker sends batches with the .NET client and times each one.</summary>
    private static Task SteadyIngestAsync(string url, string key, Func<LatencyRecorder> recorder, CancellationToken ct) =>
        Task.WhenAll(Enumerable.Range(0, OtherConcurrency).Select(worker => Task.Run(async () =>
        {
            using var client = TallyClient.Create(new TallyClientOptions { BaseAddress = new Uri(url), ApiKey = key, BatchSize = OtherBatch, RequestTimeout = TimeSpan.FromSeconds(60) });
            var random = new Random(worker);
            for (var n = 0; !ct.IsCancellationRequested; n++)
            {
                var at = DateTimeOffset.UtcNow.AddMinutes(-1);
                var events = Enumerable.Range(0, OtherBatch).Select(i => new TallyEvent
                {
                    UserId = $"u{random.Next(5000)}", Action = "bike", Measures = new Dictionary<string, decimal> { ["co2_saved_kg"] = 1.5m },
                    Dims = new Dictionary<string, string> { ["country"] = "DE", ["org"] = "org-1" }, OccurredAt = at, IdempotencyKey = $"w{worker}-{n}-{i}",
                }).ToList();
                var t0 = Stopwatch.GetTimestamp();
                try
                {
                    await client.IngestAsync(events, ct);
                    recorder().Record(Stopwatch.GetElapsedTime(t0));
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }
            }
        }, CancellationToken.None)));

    private static async Task WaitAsync(Func<bool> done, TimeSpan within)
    {
        var deadline = Stopwatch.StartNew();
        while (!done())
        {
            if (deadline.Elapsed > within) throw new CliException($"not every change was delivered within {within.TotalMinutes:0} minutes.");
            await Task.Delay(100);
        }
    }

    /// <summary>An HTTP listener on loopback that answers every delivery 200 at once and keeps what it got.</summary>
    private sealed class Receiver : IDisposable
    {
        private readonly HttpListener _listener;
        private readonly ConcurrentQueue<(string Id, string Timestamp, string Signature, string Body)> _got = new();
        private readonly Task _loop;
        private long _first, _last;

        private Receiver(HttpListener listener, string url)
        {
            _listener = listener;
            Url = url;
            _loop = Task.Run(LoopAsync);
        }

        public string Url { get; }
        public long Count => _got.Count;
        public TimeSpan FirstAt => TimeSpan.FromTicks(Interlocked.Read(ref _first));
        public TimeSpan LastAt => TimeSpan.FromTicks(Interlocked.Read(ref _last));
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        public static Receiver Start()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/hook/");
            listener.Start();
            return new Receiver(listener, $"http://127.0.0.1:{port}/hook/");
        }

        private async Task LoopAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                var now = _clock.Elapsed.Ticks;
                Interlocked.CompareExchange(ref _first, now, 0);
                Interlocked.Exchange(ref _last, now);
                _got.Enqueue((context.Request.Headers["webhook-id"] ?? "", context.Request.Headers["webhook-timestamp"] ?? "",
                    context.Request.Headers["webhook-signature"] ?? "", body));
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        }

        /// <summary>Whether the ids came in increasing order, how many came twice, how many signatures did not verify.</summary>
        public (bool InOrder, int Resent, int BadSignatures) Check(string secret)
        {
            var got = _got.ToList();
            var inOrder = true;
            for (var i = 1; i < got.Count; i++)
                if (string.CompareOrdinal(got[i].Id, got[i - 1].Id) <= 0) inOrder = false;
            var resent = got.Count - got.Select(g => g.Id).Distinct().Count();
            var bad = got.Count(g => !long.TryParse(g.Timestamp, out var ts) || !WebhookSignature.Verify(secret, g.Id, ts, g.Body, g.Signature));
            return (inOrder || resent > 0 && got.Select(g => g.Id).Distinct().SequenceEqual(got.Select(g => g.Id).Distinct().Order(StringComparer.Ordinal)), resent, bad);
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
        }
    }
}
