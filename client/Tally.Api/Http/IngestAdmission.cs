using Microsoft.Extensions.Options;
using Tally.Api.Hosting;

namespace Tally.Api.Http;

/// <summary>
/// Bounds the events this API instance has in flight to the cluster. Past <see cref="ApiOptions.MaxEventsInFlight"/>
/// a request is refused at once (503 <c>overloaded</c>, nothing written) instead of queuing behind the
/// others until every one of them times out.
/// </summary>
internal sealed class IngestAdmission(IOptions<ApiOptions> options)
{
    private readonly long _max = options.Value.MaxEventsInFlight;
    private long _inFlight;

    /// <summary>Admits <paramref name="events"/> events unless the bound is reached; an empty pipe always admits one request.</summary>
    public bool TryEnter(int events)
    {
        var now = Interlocked.Add(ref _inFlight, events);
        if (now <= _max || now == events) return true;
        Interlocked.Add(ref _inFlight, -events);
        return false;
    }

    public void Exit(int events) => Interlocked.Add(ref _inFlight, -events);
}
