using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Tally.Api.Hosting;

namespace Tally.Api.Http;

/// <summary>
/// Bounds the events this API instance has in flight to the cluster, with a bound that follows how fast the cluster
/// answers (additive increase, multiplicative decrease on latency). While calls come back within
/// <see cref="ApiOptions.IngestTargetLatencyMs"/> and the pipe is at least half full, the bound grows by about one
/// batch per round trip; a slower answer, or a call the silo refused, cuts it by a fifth (at most once per target
/// interval). Past the bound a request is refused at once, before its body is read (503 <c>overloaded</c>, nothing
/// written): offered load beyond what the cluster answers in time is shed instead of queued until every caller times out.
/// </summary>
internal sealed class IngestAdmission
{
    private readonly ApiOptions _options;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private long _inFlight;
    private readonly double _floor;
    private double _limit;
    private long _lastCutAt;

    public IngestAdmission(IOptions<ApiOptions> options, TimeProvider time, ApiMetrics metrics)
    {
        _options = options.Value;
        _time = time;
        // A ceiling set below the default floor (a small test bound) is the floor too.
        _floor = Math.Min(_options.MinEventsInFlight, _options.MaxEventsInFlight);
        _limit = Math.Clamp(_options.MaxEventsInFlight / 4.0, _floor, _options.MaxEventsInFlight);
        metrics.Meter.CreateObservableGauge("tally_ingest_admission_limit", () => (long)Volatile.Read(ref _limit), "{event}",
            "Events this API instance lets in flight to the cluster now (adapts to the cluster's answer times).");
        metrics.Meter.CreateObservableGauge("tally_ingest_in_flight", () => Interlocked.Read(ref _inFlight), "{event}",
            "Events this API instance has in flight to the cluster.");
    }

    /// <summary>The current bound, in events.</summary>
    public long Limit => (long)Volatile.Read(ref _limit);

    /// <summary>Whether a request would be refused now: checked before the body is read, so shedding costs little.</summary>
    public bool Saturated
    {
        get
        {
            var inFlight = Interlocked.Read(ref _inFlight);
            return inFlight > 0 && inFlight >= Volatile.Read(ref _limit);
        }
    }

    /// <summary>Admits <paramref name="events"/> events unless the bound is reached; an empty pipe always admits one request.</summary>
    public bool TryEnter(int events)
    {
        var now = Interlocked.Add(ref _inFlight, events);
        if (now <= Volatile.Read(ref _limit) || now == events) return true;
        Interlocked.Add(ref _inFlight, -events);
        return false;
    }

    /// <summary>Ends a call admitted by <see cref="TryEnter"/>: <paramref name="elapsed"/> is how long the cluster took to
    /// answer; <paramref name="refused"/> says the silo refused it for overload.</summary>
    public void Exit(int events, TimeSpan elapsed, bool refused)
    {
        var inFlight = Interlocked.Add(ref _inFlight, -events) + events;
        lock (_lock)
        {
            if (refused || elapsed.TotalMilliseconds > _options.IngestTargetLatencyMs)
            {
                var now = _time.GetTimestamp();
                // Calls that were slow together count as one signal: cut at most once per target interval.
                if (_time.GetElapsedTime(_lastCutAt, now).TotalMilliseconds < _options.IngestTargetLatencyMs) return;
                _lastCutAt = now;
                Volatile.Write(ref _limit, Math.Max(_floor, _limit * 0.8));
            }
            else if (inFlight * 2 >= _limit)
            {
                // About one batch more per round trip: each of the limit/events calls of a round trip adds events²/limit.
                Volatile.Write(ref _limit, Math.Min(_options.MaxEventsInFlight, _limit + Math.Min(events, (double)events * events / _limit)));
            }
        }
    }
}
