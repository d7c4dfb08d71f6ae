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
/// <c>tally verify run</c>: a workload that must survive faults. For <c>--seconds</c> (or until the
/// <c>--stop-file</c> exists) it posts batches of events (deterministic keys) and reads stats, retrying every
/// unanswered or 503 batch with the same keys until it is acknowledged; events answered <c>retry</c> (their
/// user's silo did not answer in time) go to a re-sender that sends them again, with the same keys, until they
/// are acknowledged; then it drains. Every event is written to <c>workload.ndjson</c> before it is sent and
/// every acknowledgement to <c>acks.ndjson</c>, so <c>tally verify check</c> can prove the log against both;
/// every request's outcome goes to <c>requests.csv</c> (how a fault looked to a client):
/// <c>unix_ms,kind,status,latency_ms,accepted,retry</c>, the last two the request's accepted events and the
/// events it answered <c>retry</c>.
/// </summary>
internal static class VerifyWorkload
{
    internal sealed record Settings(string Tenant, int Users, int Batch, int Concurrency, int Seconds, int DrainSeconds, string Directory, string? StopFile = null);

    /// <summary>The header of <c>requests.csv</c>; <see cref="VerifyReport"/> reads it.</summary>
    public const string RequestsHeader = "unix_ms,kind,status,latency_ms,accepted,retry";

    /// <summary>One event as sent: its key and its JSON, so a retry sends exactly the same event.</summary>
    private sealed record SentEvent(string Key, string Json);

    /// <summary>What one ingest request came back with: its status (0: no answer) and the events answered <c>retry</c>.</summary>
    private sealed record PostOutcome(int Status, List<SentEvent> Retry);

    /// <summary>The tenant's config: boards and rollups the checker can recompute from the log.</summary>
    public static JsonObject Config() => new()
    {
        ["time_zone"] = "UTC",
        ["measures"] = new JsonObject { ["co2"] = new JsonObject { ["min"] = 0, ["max"] = 1000 } },
        ["dimensions"] = new JsonArray("country"),
        ["leaderboards"] = new JsonObject { ["measures"] = new JsonArray("co2"), ["scopes"] = new JsonArray("global", "country"), ["periods"] = new JsonArray("all_time") },
        ["rollups"] = new JsonObject { ["scopes"] = new JsonArray("global", "country"), ["periods"] = new JsonArray("all_time") },
        // Tiers and goals: the faults must not lose or double a tier change or a completion in the feed either.
        ["checkpoint"] = new JsonObject
        {
            ["measure"] = "co2", ["months"] = 1,
            ["tiers"] = new JsonArray(new JsonObject { ["name"] = "bronze", ["threshold"] = 0 }, new JsonObject { ["name"] = "silver", ["threshold"] = 20_000 },
                new JsonObject { ["name"] = "gold", ["threshold"] = 200_000 }),
        },
        ["goals"] = new JsonObject { ["co2_total"] = new JsonObject { ["measure"] = "co2", ["targets"] = new JsonArray(1_000, 10_000, 100_000, 1_000_000) } },
        ["board_shards"] = 2,
    };

    public static readonly string[] Countries = ["US", "DE", "FR"];

    public static async Task<int> RunAsync(CliContext context, Settings s)
    {
        System.IO.Directory.CreateDirectory(s.Directory);
        // One connection per writer and reader, plus the re-sender's.
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = s.Concurrency * 2 + 1, ConnectTimeout = TimeSpan.FromSeconds(2) })
        {
            BaseAddress = new Uri(context.Url), Timeout = TimeSpan.FromSeconds(30),
        };
        var tenant = await WithRetryAsync(() => BenchTenant.EnsureAsync(http, context.AdminKey, s.Tenant, Config()), TimeSpan.FromSeconds(60));
        File.WriteAllText(Path.Combine(s.Directory, "tenant.json"), JsonSerializer.Serialize(new { tenant = tenant.Id, read_key = tenant.ReadKey, ingest_key = tenant.IngestKey }));
        AnsiConsole.MarkupLineInterpolated($"verify run: tenant {tenant.Id}, {s.Users} users, batches of {s.Batch}, {s.Concurrency} writers for {s.Seconds} s{(s.StopFile is null ? "" : " or until " + s.StopFile + " exists")}, then drain");

        await using var workload = new StreamWriter(Path.Combine(s.Directory, "workload.ndjson"), append: false) { AutoFlush = true };
        await using var acks = new StreamWriter(Path.Combine(s.Directory, "acks.ndjson"), append: false) { AutoFlush = true };
        await using var requests = new StreamWriter(Path.Combine(s.Directory, "requests.csv"), append: false) { AutoFlush = true };
        await requests.WriteLineAsync(RequestsHeader);
        var files = new Lock();

        long batchSeq = 0, acked = 0, attempts = 0, failures = 0, retried = 0, reads = 0, readFailures = 0;
        var start = Stopwatch.StartNew();
        var sendUntil = TimeSpan.FromSeconds(s.Seconds);
        long stoppedAtTicks = 0; // when sending stopped (Elapsed ticks + 1), 0 while it goes on
        var writersDone = false;
        // Events answered `retry`: the writers hand them over and go on with new batches, so a silo that holds some
        // users does not stall the rest of the workload; the re-sender sends them again until acknowledged.
        var resend = new ConcurrentQueue<SentEvent>();

        bool Sending()
        {
            if (Interlocked.Read(ref stoppedAtTicks) != 0) return false;
            if (start.Elapsed < sendUntil && (s.StopFile is null || !File.Exists(s.StopFile))) return true;
            Interlocked.CompareExchange(ref stoppedAtTicks, start.Elapsed.Ticks + 1, 0);
            return false;
        }

        bool DrainOver()
        {
            Sending(); // notes when sending stopped, if nothing else did yet
            var stopped = Interlocked.Read(ref stoppedAtTicks);
            return stopped != 0 && start.Elapsed > TimeSpan.FromTicks(stopped - 1) + TimeSpan.FromSeconds(s.DrainSeconds);
        }

        // What refusals said (status and error code), printed at the end: a run that was refused for an unexpected reason
        // (a rate limit, say) shows it in the log instead of only as failures.
        var refusals = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        async Task NoteRefusalAsync(string kind, HttpResponseMessage response)
        {
            string code;
            try
            {
                code = JsonNode.Parse(await response.Content.ReadAsStringAsync())?["error"]?["code"]?.GetValue<string>() ?? "no code";
            }
            catch (Exception ex) when (ex is JsonException or HttpRequestException or InvalidOperationException)
            {
                code = "unreadable body";
            }
            refusals.AddOrUpdate($"{kind} {(int)response.StatusCode} {code}", 1, (_, n) => n + 1);
        }

        void Log(string kind, int status, TimeSpan latency, int accepted = 0, int retry = 0)
        {
            lock (files) requests.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()},{kind},{status},{latency.TotalMilliseconds:0},{accepted},{retry}"));
        }

        async Task<PostOutcome> PostAsync(IReadOnlyList<SentEvent> events)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = new StringContent(Body(events), Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tenant.IngestKey);
            var t0 = Stopwatch.GetTimestamp();
            try
            {
                using var response = await http.SendAsync(request);
                var status = (int)response.StatusCode;
                if (status != 200)
                {
                    Log("ingest", status, Stopwatch.GetElapsedTime(t0));
                    await NoteRefusalAsync("ingest", response);
                    return new PostOutcome(status, []);
                }
                var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
                var latency = Stopwatch.GetElapsedTime(t0);
                var results = answer["results"]!.AsArray();
                if (results.Count != events.Count) throw new CliException($"an ingest answer held {results.Count} results for {events.Count} events.");
                var retry = new List<SentEvent>();
                lock (files)
                    for (var i = 0; i < results.Count; i++)
                    {
                        var key = (string)results[i]!["idempotency_key"]!;
                        var outcome = (string)results[i]!["status"]!;
                        if (key != events[i].Key) throw new CliException($"ingest result {i} names key {key}, the request sent {events[i].Key} there (results must be in request order).");
                        // `retry`: the outcome is unknown, so the event is not acknowledged; it is sent again with its key.
                        if (outcome == "retry") retry.Add(events[i]);
                        else acks.WriteLine(JsonSerializer.Serialize(new { key, status = outcome }));
                    }
                Log("ingest", 200, latency, (int)answer["accepted"]!, retry.Count);
                return new PostOutcome(200, retry);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                Log("ingest", 0, Stopwatch.GetElapsedTime(t0));
                return new PostOutcome(0, []);
            }
        }

        // Sends the events until the cluster answers for them: the same request again while it fails (unanswered,
        // 503, 429), with a growing pause. Returns the events answered `retry`.
        async Task<List<SentEvent>> DeliverAsync(IReadOnlyList<SentEvent> events, string what)
        {
            var delay = TimeSpan.FromMilliseconds(100);
            while (true)
            {
                Interlocked.Increment(ref attempts);
                var outcome = await PostAsync(events);
                if (outcome.Status == 200) return outcome.Retry;
                Interlocked.Increment(ref failures);
                if (outcome.Status is 400 or 401 or 403 or 413) throw new CliException($"{what} was refused with {outcome.Status}; the workload is wrong, not the cluster.");
                if (DrainOver()) throw new CliException($"{what} was not acknowledged within the drain time.");
                await Task.Delay(delay);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
            }
        }

        var writers = Enumerable.Range(0, s.Concurrency).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker * 7919 + 1);
            while (Sending())
            {
                var batchNo = Interlocked.Increment(ref batchSeq);
                var events = Batch(batchNo, s, random, workload, files);
                var retry = await DeliverAsync(events, $"batch {batchNo}");
                foreach (var e in retry) resend.Enqueue(e);
                Interlocked.Add(ref retried, retry.Count);
                Interlocked.Add(ref acked, events.Count - retry.Count);
            }
        })).ToList();
        var allWritten = Task.WhenAll(writers).ContinueWith(_ => Volatile.Write(ref writersDone, true), TaskScheduler.Default);

        // The re-sender: up to a batch of events answered `retry` at a time, again until none is answered `retry`,
        // pausing as after a failure (the cluster needs a moment to declare the silo dead and move its users).
        var resender = Task.Run(async () =>
        {
            var pending = new List<SentEvent>();
            var delay = TimeSpan.FromMilliseconds(100);
            while (true)
            {
                while (pending.Count < s.Batch && resend.TryDequeue(out var e)) pending.Add(e);
                if (pending.Count == 0)
                {
                    if (Volatile.Read(ref writersDone) && resend.IsEmpty) return;
                    await Task.Delay(50);
                    continue;
                }
                var retry = await DeliverAsync(pending, $"a re-sent batch of {pending.Count} events answered retry");
                Interlocked.Add(ref acked, pending.Count - retry.Count);
                Interlocked.Add(ref retried, retry.Count);
                if (retry.Count == 0)
                {
                    pending.Clear();
                    delay = TimeSpan.FromMilliseconds(100);
                    continue;
                }
                if (DrainOver()) throw new CliException($"{retry.Count} events answered retry were not acknowledged within the drain time (first key {retry[0].Key}).");
                pending = retry;
                await Task.Delay(delay);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
            }
        });

        // Readers: a user's stats must keep answering (from the survivor when a silo is down).
        var readers = Enumerable.Range(0, 2).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker + 17);
            while (Sending())
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/users/v-user-{random.Next(s.Users)}/stats");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tenant.ReadKey);
                var t0 = Stopwatch.GetTimestamp();
                int status;
                try
                {
                    using var response = await http.SendAsync(request);
                    status = (int)response.StatusCode;
                    if (status is not (200 or 404)) await NoteRefusalAsync("read", response);
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

        await Bench.Progress.Track("events acknowledged", () => Interlocked.Read(ref acked), 0, Task.WhenAll(writers.Concat(readers).Append(allWritten).Append(resender)));
        if (!refusals.IsEmpty)
            AnsiConsole.MarkupLineInterpolated($"refusals by answer: {string.Join(", ", refusals.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key}: {r.Value:N0}"))}");
        AnsiConsole.MarkupLineInterpolated($"verify run: {acked:N0} events acknowledged in {batchSeq:N0} batches ({attempts:N0} attempts, {failures:N0} failed and retried; {retried:N0} times an event was answered retry and sent again); {reads:N0} reads, {readFailures:N0} failed");
        return TallyCli.Success;
    }

    private static List<SentEvent> Batch(long batchNo, Settings s, Random random, StreamWriter workload, Lock files)
    {
        var now = DateTimeOffset.UtcNow;
        var events = new List<SentEvent>(s.Batch);
        var sb = new StringBuilder();
        for (var i = 0; i < s.Batch; i++)
        {
            var user = $"v-user-{random.Next(s.Users)}";
            var key = $"v-{batchNo}-{i}";
            var co2 = random.Next(0, 10_000) / 100m;
            var at = now.AddSeconds(-random.Next(0, 600)).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            // Some events carry no country, so the global board and the country boards differ.
            var country = random.Next(4) == 0 ? null : Countries[random.Next(Countries.Length)];
            sb.Clear().Append(CultureInfo.InvariantCulture, $"{{\"user_id\":\"{user}\",\"action\":\"ride\",\"measures\":{{\"co2\":{co2}}},");
            if (country is not null) sb.Append(CultureInfo.InvariantCulture, $"\"dims\":{{\"country\":\"{country}\"}},");
            sb.Append(CultureInfo.InvariantCulture, $"\"occurred_at\":\"{at}\",\"idempotency_key\":\"{key}\"}}");
            events.Add(new SentEvent(key, sb.ToString()));
            lock (files) workload.WriteLine(JsonSerializer.Serialize(new { key, user, co2, country }));
        }
        return events;
    }

    private static string Body(IReadOnlyList<SentEvent> events)
    {
        var sb = new StringBuilder("{\"events\":[");
        for (var i = 0; i < events.Count; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(events[i].Json);
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
