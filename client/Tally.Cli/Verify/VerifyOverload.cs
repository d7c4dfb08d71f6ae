using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Spectre.Console;
using Tally.Cli.Bench;

namespace Tally.Cli.Verify;

/// <summary>
/// <c>tally verify overload</c>: offers the cluster more ingest than it can take and checks that it sheds
/// instead of queueing. It measures the sustainable rate (closed loop: a few connections, each sending its next
/// batch when the last is answered), then offers <c>--factor</c> times that rate open loop (a request every
/// 1/rate seconds, answered or not, up to <c>--max-connections</c> outstanding), then probes latency again
/// closed loop. Asserts: every overload request answered 200, or 429/503 with <c>Retry-After</c>, within
/// <c>--answer-bound-ms</c>; accepted events per second during the overload at least
/// <c>--min-share</c> percent of the sustainable rate; the probe's p99 under <c>--probe-factor</c> times the
/// sustainable phase's p99, and every probe request answered 200. Exit code 1 when any fails, with what was measured.
/// </summary>
internal static class VerifyOverload
{
    internal sealed record Settings(
        string Tenant, int Users, int Batch, int WarmUpSeconds, int SustainSeconds, int Connections, double Factor,
        int OverloadSeconds, int MaxConnections, int ProbeSeconds, int AnswerBoundMs, int MinSharePercent, double ProbeFactor);

    /// <summary>One request's outcome: sent at <see cref="SentAt"/> (seconds since the phase began), status 0 for no answer.</summary>
    private sealed record Outcome(double SentAt, double LatencyMs, int Status, bool RetryAfter, int Accepted);

    /// <summary>What a phase saw: its requests and how long it lasted (first send to last answer).</summary>
    private sealed record Phase(List<Outcome> Requests, TimeSpan Elapsed)
    {
        public long Accepted => Requests.Sum(r => (long)r.Accepted);

        public double AcceptedPerSecond => Accepted / Elapsed.TotalSeconds;

        public double Percentile(double p)
        {
            if (Requests.Count == 0) return 0;
            var sorted = Requests.Select(r => r.LatencyMs).Order().ToList();
            return sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
        }

        public double MaxMs => Requests.Count == 0 ? 0 : Requests.Max(r => r.LatencyMs);
    }

    public static async Task<int> RunAsync(CliContext context, Settings s)
    {
        // Into a log (the fault and overload scripts), 80 columns would fold every label over several lines.
        if (Console.IsOutputRedirected && AnsiConsole.Profile.Width < 160) AnsiConsole.Profile.Width = 160;
        using var http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = s.MaxConnections, ConnectTimeout = TimeSpan.FromSeconds(5),
        })
        {
            BaseAddress = new Uri(context.Url),
            // Longer than any bound: a slow answer is measured, not cut short.
            Timeout = TimeSpan.FromSeconds(30),
        };
        var tenant = await BenchTenant.EnsureAsync(http, context.AdminKey, s.Tenant, BenchTenant.ClimateConfig(shards: 2));
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tenant.IngestKey);
        var run = Guid.NewGuid().ToString("N")[..8];
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"verify overload: tenant {tenant.Id}, {s.Users:N0} users, batches of {s.Batch}");

        // Every user once, then a few seconds more: the sustainable rate is that of active grains and jitted code, as
        // during the overload, not of first activations.
        var touchBatches = (s.Users + s.Batch - 1) / s.Batch;
        Console.WriteLine($"warm-up: every user once ({touchBatches} batches), then {s.WarmUpSeconds} s closed loop, {s.Connections} connections");
        var touched = await TouchEveryUserAsync(http, s, $"{run}-t", touchBatches);
        if (touched.Requests.Any(r => r.Status != 200)) Console.WriteLine($"  touching every user: {Statuses(touched)}");
        await ClosedLoopAsync(http, s, $"{run}-w", s.WarmUpSeconds);
        Console.WriteLine($"sustainable rate: {s.SustainSeconds} s closed loop, {s.Connections} connections");
        var sustained = await ClosedLoopAsync(http, s, $"{run}-s", s.SustainSeconds);
        var sustainable = sustained.AcceptedPerSecond;
        if (sustainable <= 0) throw new CliException($"no event was accepted in {s.SustainSeconds} s of closed loop ({Statuses(sustained)}): nothing to overload.");
        var requestsPerSecond = s.Factor * sustainable / s.Batch;
        Console.WriteLine(string.Create(inv, $"  {sustainable:N0} events/s accepted, p99 {sustained.Percentile(99):N0} ms ({Statuses(sustained)})"));

        Console.WriteLine(string.Create(inv, $"overload: {s.Factor:0.#} x that, {requestsPerSecond:N1} requests/s of {s.Batch} events open loop for {s.OverloadSeconds} s, at most {s.MaxConnections:N0} outstanding"));
        var (overload, capped, stoppedAt) = await OpenLoopAsync(http, s, $"{run}-o", requestsPerSecond);
        Console.WriteLine($"  {Statuses(overload)}");
        Console.WriteLine($"probe: {s.ProbeSeconds} s closed loop, {s.Connections} connections");
        var probeStart = stoppedAt.Elapsed;
        var probe = await ClosedLoopAsync(http, s, $"{run}-p", s.ProbeSeconds);

        var answers = overload.Requests;
        var unanswered = answers.Count(r => r.Status == 0);
        var wrongStatus = answers.Count(r => r.Status is not (0 or 200 or 429 or 503));
        var withoutRetryAfter = answers.Count(r => r.Status is 429 or 503 && !r.RetryAfter);
        var late = answers.Count(r => r.LatencyMs > s.AnswerBoundMs);
        var offered = requestsPerSecond * s.Batch;
        var rows = new List<(string Figure, string Measured, string Bound, bool Ok)>
        {
            ("sustainable rate (closed loop)", string.Create(inv, $"{sustainable:N0} events/s, p99 {sustained.Percentile(99):N0} ms"), "-", true),
            ("offered during the overload", string.Create(inv, $"{offered:N0} events/s ({answers.Count:N0} requests in {s.OverloadSeconds} s; {capped:N0} not sent: {s.MaxConnections:N0} outstanding)"),
                "every request sent", capped == 0),
            ("answers", Statuses(overload), "200, 429 or 503", unanswered == 0 && wrongStatus == 0),
            ("429/503 without Retry-After", withoutRetryAfter.ToString("N0", inv), "0", withoutRetryAfter == 0),
            ("answer time, overload", string.Create(inv, $"max {overload.MaxMs:N0} ms, p99 {overload.Percentile(99):N0} ms, p50 {overload.Percentile(50):N0} ms; {late:N0} over the bound"),
                string.Create(inv, $"<= {s.AnswerBoundMs:N0} ms each"), late == 0 && unanswered == 0),
            ("accepted during the overload", string.Create(inv, $"{overload.AcceptedPerSecond:N0} events/s ({overload.AcceptedPerSecond / sustainable * 100:0}% of sustainable)"),
                string.Create(inv, $">= {s.MinSharePercent}% ({sustainable * s.MinSharePercent / 100:N0}/s)"), overload.AcceptedPerSecond >= sustainable * s.MinSharePercent / 100),
            ("probe p99 after the overload", string.Create(inv, $"{probe.Percentile(99):N0} ms (max {probe.MaxMs:N0} ms; {probe.AcceptedPerSecond:N0} events/s; +{probeStart.TotalSeconds:0.0} s to +{stoppedAt.Elapsed.TotalSeconds:0.0} s after the offered load stopped)"),
                string.Create(inv, $"< {s.ProbeFactor:0.#} x {sustained.Percentile(99):N0} ms"), probe.Percentile(99) < s.ProbeFactor * sustained.Percentile(99)),
            // Quick refusals would make a good p99 too: back to normal is also served as normal.
            ("probe answers", Statuses(probe), "all 200", probe.Requests.Count > 0 && probe.Requests.All(r => r.Status == 200)),
        };
        var table = new Table().AddColumn("figure").AddColumn("measured").AddColumn("bound").AddColumn("result");
        foreach (var (figure, measured, bound, ok) in rows)
            table.AddRow(Markup.Escape(figure), Markup.Escape(measured), Markup.Escape(bound), bound == "-" && ok ? "" : ok ? "[green]ok[/]" : "[red]FAILED[/]");
        AnsiConsole.Write(table);
        foreach (var (figure, measured, bound, _) in rows.Where(r => !r.Ok))
            Console.WriteLine($"verify overload: FAILED {figure}: measured {measured}, bound {bound}");
        return rows.All(r => r.Ok) ? TallyCli.Success : TallyCli.Failed;
    }

    /// <summary>Closed loop: each connection sends its next batch once the last is answered, for <paramref name="seconds"/>.</summary>
    private static async Task<Phase> ClosedLoopAsync(HttpClient http, Settings s, string run, int seconds)
    {
        var outcomes = new List<Outcome>();
        var gate = new Lock();
        long batchNo = 0;
        var clock = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        await Task.WhenAll(Enumerable.Range(0, s.Connections).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < until)
            {
                var outcome = await SendAsync(http, s, run, Interlocked.Increment(ref batchNo), clock);
                lock (gate) outcomes.Add(outcome);
                // A refused request is retried after its Retry-After would be in a real client; here the next batch
                // waits a moment so a shedding cluster is not hammered by the measuring loop itself.
                if (outcome.Status != 200) await Task.Delay(100);
            }
        })));
        return new Phase(outcomes, clock.Elapsed);
    }

    /// <summary>Batches of consecutive users, <paramref name="batches"/> of them over the closed loop's connections.</summary>
    private static async Task<Phase> TouchEveryUserAsync(HttpClient http, Settings s, string run, int batches)
    {
        var outcomes = new List<Outcome>();
        var gate = new Lock();
        long next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, s.Connections).Select(_ => Task.Run(async () =>
        {
            long b;
            while ((b = Interlocked.Increment(ref next)) < batches)
            {
                var outcome = await SendAsync(http, s, run, b, clock, firstUser: (int)(b * s.Batch));
                lock (gate) outcomes.Add(outcome);
            }
        })));
        return new Phase(outcomes, clock.Elapsed);
    }

    /// <summary>Open loop at <paramref name="requestsPerSecond"/> for the overload's seconds; returns its requests, how many were
    /// not sent because <c>--max-connections</c> were outstanding, and a clock started when the last was sent.</summary>
    private static async Task<(Phase Phase, long Capped, Stopwatch StoppedAt)> OpenLoopAsync(HttpClient http, Settings s, string run, double requestsPerSecond)
    {
        var outcomes = new List<Outcome>();
        var gate = new Lock();
        var inFlight = new List<Task>();
        long sent = 0, capped = 0, outstanding = 0;
        var clock = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(s.OverloadSeconds);
        var tick = TimeSpan.FromMilliseconds(Math.Clamp(1000 / requestsPerSecond, 1, 20));
        while (clock.Elapsed < until)
        {
            // Every request due by now goes out, however many are still unanswered (up to the cap).
            var due = (long)(clock.Elapsed.TotalSeconds * requestsPerSecond) + 1;
            for (; sent < due; sent++)
            {
                if (Interlocked.Read(ref outstanding) >= s.MaxConnections)
                {
                    capped++;
                    continue;
                }
                Interlocked.Increment(ref outstanding);
                var batchNo = sent;
                inFlight.Add(Task.Run(async () =>
                {
                    var outcome = await SendAsync(http, s, run, batchNo, clock);
                    Interlocked.Decrement(ref outstanding);
                    lock (gate) outcomes.Add(outcome);
                }));
            }
            await Task.Delay(tick);
        }
        var stoppedAt = Stopwatch.StartNew();
        await Task.WhenAll(inFlight);
        return (new Phase(outcomes, clock.Elapsed), capped, stoppedAt);
    }

    private static async Task<Outcome> SendAsync(HttpClient http, Settings s, string run, long batchNo, Stopwatch clock, int? firstUser = null)
    {
        var body = IngestBench.BuildBatch(run, "overload", batchNo, s.Batch, s.Users, Random.Shared, firstUser);
        var sentAt = clock.Elapsed.TotalSeconds;
        var t0 = Stopwatch.GetTimestamp();
        try
        {
            using var response = await http.PostAsync("/v1/events", new StringContent(body, Encoding.UTF8, "application/json"));
            var status = (int)response.StatusCode;
            var accepted = 0;
            if (status == 200) accepted = (int)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["accepted"]!;
            else await response.Content.ReadAsStringAsync();
            return new Outcome(sentAt, Stopwatch.GetElapsedTime(t0).TotalMilliseconds, status, response.Headers.RetryAfter is not null, accepted);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return new Outcome(sentAt, Stopwatch.GetElapsedTime(t0).TotalMilliseconds, 0, false, 0);
        }
    }

    private static string Statuses(Phase phase) => string.Join(", ", phase.Requests.GroupBy(r => r.Status).OrderBy(g => g.Key)
        .Select(g => $"{(g.Key == 0 ? "no answer" : g.Key.ToString(CultureInfo.InvariantCulture))}: {g.Count():N0}"));
}
