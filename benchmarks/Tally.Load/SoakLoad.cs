using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Polly.Timeout;
using Tally.Client;

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
/// A request due while <c>--connections</c> are in flight is not sent and is counted ("client saturated"). Requests go
/// through the .NET client made with <see cref="ClientOptions"/>: one attempt, every answer handed back as it came.
/// </summary>
internal sealed class SoakLoad(TallyClient ingest, TallyClient reads, SoakBench.Settings s, SoakMeter meter)
{
    /// <summary>The client's settings for an open loop: one attempt per request and no transport retry (a shed or failed
    /// request is counted, never sent again by the client), the API's largest batch, the soak's timeout.</summary>
    public static TallyClientOptions ClientOptions(Uri url, string key) => new()
    {
        BaseAddress = url, ApiKey = key, BatchSize = MaxEventsPerRequest, MaxAttempts = 1, TransportRetries = 0, RequestTimeout = SoakBench.RequestTimeout,
    };

    /// <summary>The API takes at most this many events per request; re-sent events ride on top of a batch up to it.</summary>
    private const int MaxEventsPerRequest = 10_000;
    /// <summary>Random users tried for a stats read before a page is read instead (early on, few users have events).</summary>
    private const int UserPicks = 4;

    private static readonly string[] Countries = ["DE", "US", "FR", "GB", "JP", "BR", "IN", "NG"];
    /// <summary>The top-100 pages read: (scope, period) of the board of <c>co2_saved_kg</c>.</summary>
    private static readonly (string Scope, string Period)[] Pages =
        [("global", "all_time"), ("global", "month"), ("global", "week"), ("country:DE", "all_time"), ("country:US", "month")];

    /// <summary>An event sent (its key fixed when it was made), and its user; one answered <c>retry</c> is sent once more.</summary>
    private sealed record PendingEvent(TallyEvent Event, int User);

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
            var at = DateTimeOffset.UtcNow;
            var events = new List<PendingEvent>(s.Batch);
            for (var i = 0; i < s.Batch; i++)
            {
                var user = random.Next(s.Users);
                events.Add(new PendingEvent(new TallyEvent
                {
                    UserId = string.Create(CultureInfo.InvariantCulture, $"u{user}"), Action = "bike",
                    Measures = new Dictionary<string, decimal> { ["co2_saved_kg"] = random.Next(1, 1000) / 100m },
                    Dims = new Dictionary<string, string> { ["country"] = Countries[user % Countries.Length] },
                    OccurredAt = at, IdempotencyKey = string.Create(CultureInfo.InvariantCulture, $"{_run}-{requestNo}-{i}"),
                }, user));
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
        meter.IngestSent(events.Count - fresh);
        var started = Stopwatch.GetTimestamp();
        IngestSummary summary;
        try
        {
            summary = await ingest.IngestAsync(events.ConvertAll(e => e.Event));
        }
        catch (Exception ex) when (ex is TimeoutRejectedException || ex is TaskCanceledException { InnerException: TimeoutException })
        {
            meter.IngestTimeout();
            return;
        }
        catch (Exception ex) when (ex is HttpRequestException or TallyApiException)
        {
            meter.IngestError();
            return;
        }
        var latency = Stopwatch.GetElapsedTime(started);
        if (summary.Refused > 0)
        {
            meter.IngestShed(); // the API said to back off (429, 503): nothing is re-sent
            return;
        }
        int accepted = 0, duplicates = 0, rejected = 0, retry = 0;
        for (var index = 0; index < summary.Results.Count; index++)
        {
            var resent = index >= fresh;
            switch (summary.Results[index].Status)
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
        }
        meter.IngestAnswered(latency, accepted, duplicates, rejected, retry);
    }

    /// <summary>Half the reads are a written user's stats, half a top-100 page of one of the tenant's boards.</summary>
    private async Task ReadAsync(long readNo)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var found = readNo % 2 == 0 && WrittenUser() is { } user
                ? await reads.GetStatsAsync(string.Create(CultureInfo.InvariantCulture, $"u{user}")) is not null
                : await reads.GetLeaderboardAsync("co2_saved_kg", Pages[readNo / 2 % Pages.Length].Scope, Pages[readNo / 2 % Pages.Length].Period, limit: 100) is not null;
            meter.ReadAnswered(Stopwatch.GetElapsedTime(started), found);
        }
        catch (TallyApiException)
        {
            meter.ReadAnswered(Stopwatch.GetElapsedTime(started), ok: false); // answered, but not with the read (a 429, 503, 5xx)
        }
        catch (Exception ex)
        {
            // A refused connection or the 30 s timeout is the cluster's answer; anything else is a bug of this bench.
            if (ex is not (HttpRequestException or TaskCanceledException or TimeoutRejectedException)) Interlocked.CompareExchange(ref _unexpected, ex, null);
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
