using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Tally.Cli.Bench;

/// <summary>
/// The soak's counters for the current sample window. One lock guards them and the swap to the next window, so an
/// answer lands wholly in one window (a few hundred answers a second: the lock costs nothing that matters).
/// </summary>
internal sealed class SoakMeter
{
    private sealed class Window
    {
        public long RequestsSent, RequestsNotSent, Accepted, Duplicates, Rejected, Shed, Retry, Resent, Errors, Timeouts;
        public long Reads, ReadsNotSent, ReadErrors;
        public readonly LatencyRecorder Ingest = new();
        public readonly LatencyRecorder Read = new();
    }

    private readonly Lock _gate = new();
    private Window _window = new();

    public void IngestSent(int resent)
    {
        lock (_gate)
        {
            _window.RequestsSent++;
            _window.Resent += resent;
        }
    }

    public void IngestNotSent() { lock (_gate) _window.RequestsNotSent++; }
    public void IngestShed() { lock (_gate) _window.Shed++; }
    public void IngestError() { lock (_gate) _window.Errors++; }
    public void IngestTimeout() { lock (_gate) _window.Timeouts++; }

    public void IngestAnswered(TimeSpan latency, int accepted, int duplicates, int rejected, int retry)
    {
        lock (_gate)
        {
            _window.Ingest.Record(latency);
            _window.Accepted += accepted + duplicates;
            _window.Duplicates += duplicates;
            _window.Rejected += rejected;
            _window.Retry += retry;
        }
    }

    public void ReadNotSent() { lock (_gate) _window.ReadsNotSent++; }

    public void ReadAnswered(TimeSpan latency, bool ok)
    {
        lock (_gate)
        {
            _window.Reads++;
            if (ok) _window.Read.Record(latency);
            else _window.ReadErrors++;
        }
    }

    public void ReadFailed() { lock (_gate) { _window.Reads++; _window.ReadErrors++; } }

    /// <summary>Closes the window [start, end) with the stack's figures and opens the next.</summary>
    public SoakSample Take(TimeSpan start, TimeSpan end, double? siloRssMb, double? siloCpuPercent, double? postgresMb)
    {
        Window w;
        lock (_gate) (w, _window) = (_window, new Window());
        double P(LatencyRecorder r, double p) => r.Count == 0 ? double.NaN : r.Percentile(p);
        return new SoakSample(start, end, w.RequestsSent, w.RequestsNotSent, w.Accepted, w.Duplicates, w.Rejected,
            w.Shed, w.Retry, w.Resent, w.Errors, w.Timeouts, P(w.Ingest, 50), P(w.Ingest, 99), P(w.Ingest, 100),
            w.Reads, w.ReadsNotSent, w.ReadErrors, P(w.Read, 50), P(w.Read, 99), siloRssMb, siloCpuPercent, postgresMb);
    }
}

/// <summary>
/// Open-loop load for <c>tally bench soak</c>: requests leave on a fixed schedule whatever the answers, as an
/// application's users would send them, so a slow cluster shows as latency and shed requests instead of quietly
/// lowering the offered rate (a closed loop waits for answers and so measures only what the cluster lets it send).
/// A request due while <c>--connections</c> are in flight is not sent and is counted ("client saturated").
/// </summary>
internal sealed class SoakLoad(HttpClient http, BenchTenant tenant, SoakBench.Settings s, SoakMeter meter)
{
    /// <summary>The API takes at most this many events per request; re-sent events ride on top of a batch up to it.</summary>
    private const int MaxEventsPerRequest = 10_000;
    /// <summary>Random users tried for a stats read before a page is read instead (early on, few users have events).</summary>
    private const int UserPicks = 4;

    private static readonly string[] Countries = ["DE", "US", "FR", "GB", "JP", "BR", "IN", "NG"];
    private static readonly string[] Pages =
    [
        "/v1/leaderboards/co2_saved_kg?limit=100",
        "/v1/leaderboards/co2_saved_kg?limit=100&period=month",
        "/v1/leaderboards/co2_saved_kg?limit=100&period=week",
        "/v1/leaderboards/co2_saved_kg?limit=100&scope=country:DE",
        "/v1/leaderboards/co2_saved_kg?limit=100&scope=country:US&period=month",
    ];

    /// <summary>An event whose outcome was <c>retry</c>, to be sent once more with the same key.</summary>
    private sealed record PendingEvent(string Json, int User);

    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private readonly ConcurrentQueue<PendingEvent> _retries = new();
    // Users with an accepted event: stats reads ask for these, so a read is never a 404 for a user not yet written.
    private readonly bool[] _written = new bool[s.Users];
    private int _inFlight;
    private long _lostRetries;
    private Exception? _unexpected;

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Events answered <c>retry</c> a second time (after their one re-send): their outcome stays unknown.</summary>
    public long LostRetries => Interlocked.Read(ref _lostRetries);

    /// <summary>The first failure no answer explains (a bug here, not in the cluster), if any.</summary>
    public Exception? Unexpected => Volatile.Read(ref _unexpected);

    public Task IngestAsync(Stopwatch clock, TimeSpan duration) =>
        ScheduleAsync((double)s.Rate / s.Batch, clock, duration, SendBatchAsync, meter.IngestNotSent);

    public Task ReadsAsync(Stopwatch clock, TimeSpan duration) =>
        s.Reads == 0 ? Task.CompletedTask : ScheduleAsync(s.Reads, clock, duration, ReadAsync, meter.ReadNotSent);

    /// <summary>Waits for the requests still in flight after the last was due (each ends within the HTTP timeout).</summary>
    public async Task DrainAsync(TimeSpan within)
    {
        var deadline = Stopwatch.StartNew();
        while (InFlight > 0 && deadline.Elapsed < within) await Task.Delay(100);
    }

    /// <summary>
    /// Request n is due at n / perSecond seconds; one that is overdue (the scheduler woke late) leaves at once. Whether
    /// a connection is free is decided here, at the due time, so the count in flight is exact when the schedule ends.
    /// </summary>
    private async Task ScheduleAsync(double perSecond, Stopwatch clock, TimeSpan duration, Func<long, Task> send, Action notSent)
    {
        for (long n = 0; ; n++)
        {
            var due = TimeSpan.FromSeconds(n / perSecond);
            if (due >= duration) return;
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.Zero) await Task.Delay(wait);
            if (Interlocked.Increment(ref _inFlight) > s.Connections)
            {
                Interlocked.Decrement(ref _inFlight);
                notSent();
                continue;
            }
            var requestNo = n;
            _ = Task.Run(async () =>
            {
                try
                {
                    await send(requestNo);
                }
                finally
                {
                    Interlocked.Decrement(ref _inFlight);
                }
            });
        }
    }

    private async Task SendBatchAsync(long requestNo)
    {
        try
        {
            var random = Random.Shared;
            var at = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            var events = new List<PendingEvent>(s.Batch);
            for (var i = 0; i < s.Batch; i++)
            {
                var user = random.Next(s.Users);
                events.Add(new PendingEvent(
                    string.Create(CultureInfo.InvariantCulture,
                        $"{{\"user_id\":\"u{user}\",\"action\":\"bike\",\"measures\":{{\"co2_saved_kg\":{random.Next(1, 1000) / 100m}}},\"dims\":{{\"country\":\"{Countries[user % Countries.Length]}\"}},\"occurred_at\":\"{at}\",\"idempotency_key\":\"{_run}-{requestNo}-{i}\"}}"),
                    user));
            }
            var fresh = events.Count;
            while (events.Count < MaxEventsPerRequest && _retries.TryDequeue(out var pending)) events.Add(pending);
            await PostAsync(events, fresh);
        }
        catch (Exception ex)
        {
            Interlocked.CompareExchange(ref _unexpected, ex, null);
            meter.IngestError();
        }
    }

    /// <summary>Posts the events; those from index <paramref name="fresh"/> on are re-sends, never queued again.</summary>
    private async Task PostAsync(List<PendingEvent> events, int fresh)
    {
        var body = new StringBuilder(events.Count * 220).Append("{\"events\":[");
        for (var i = 0; i < events.Count; i++) body.Append(i == 0 ? "" : ",").Append(events[i].Json);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = new StringContent(body.Append("]}").ToString(), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tenant.IngestKey);
        meter.IngestSent(events.Count - fresh);
        var started = Stopwatch.GetTimestamp();
        string text;
        HttpStatusCode status;
        try
        {
            using var response = await http.SendAsync(request);
            text = await response.Content.ReadAsStringAsync();
            status = response.StatusCode;
        }
        catch (TaskCanceledException ex) when (ex.InnerException is TimeoutException)
        {
            meter.IngestTimeout();
            return;
        }
        catch (HttpRequestException)
        {
            meter.IngestError();
            return;
        }
        var latency = Stopwatch.GetElapsedTime(started);
        if (status is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable)
        {
            meter.IngestShed(); // the API said to back off: nothing is re-sent
            return;
        }
        if (status != HttpStatusCode.OK)
        {
            meter.IngestError();
            return;
        }
        int accepted = 0, duplicates = 0, rejected = 0, retry = 0;
        using var answer = JsonDocument.Parse(text);
        var index = 0;
        foreach (var result in answer.RootElement.GetProperty("results").EnumerateArray())
        {
            var outcome = result.GetProperty("status").GetString();
            var resent = index >= fresh;
            switch (outcome)
            {
                case "accepted": accepted++; _written[events[index].User] = true; break;
                case "duplicate": duplicates++; _written[events[index].User] = true; break;
                case "retry":
                    retry++;
                    if (resent) Interlocked.Increment(ref _lostRetries);
                    else _retries.Enqueue(events[index]);
                    break;
                default: rejected++; break;
            }
            index++;
        }
        meter.IngestAnswered(latency, accepted, duplicates, rejected, retry);
    }

    /// <summary>Half the reads are a written user's stats, half a top-100 page of one of the tenant's boards.</summary>
    private async Task ReadAsync(long readNo)
    {
        try
        {
            var path = readNo % 2 == 0 && WrittenUser() is { } user ? $"/v1/users/u{user}/stats" : Pages[readNo / 2 % Pages.Length];
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tenant.ReadKey);
            var started = Stopwatch.GetTimestamp();
            using var response = await http.SendAsync(request);
            await response.Content.LoadIntoBufferAsync();
            meter.ReadAnswered(Stopwatch.GetElapsedTime(started), response.IsSuccessStatusCode);
        }
        catch (Exception ex)
        {
            // A refused connection or the 30 s timeout is the cluster's answer; anything else is a bug of this bench.
            if (ex is not (HttpRequestException or TaskCanceledException)) Interlocked.CompareExchange(ref _unexpected, ex, null);
            meter.ReadFailed();
        }
    }

    private int? WrittenUser()
    {
        for (var i = 0; i < UserPicks; i++)
        {
            var user = Random.Shared.Next(s.Users);
            if (_written[user]) return user;
        }
        return null;
    }
}
