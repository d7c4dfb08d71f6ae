using System.Diagnostics.Metrics;

namespace Tally.Api.Hosting;

/// <summary>The API instance's instruments on <c>/metrics</c> (meter <c>Tally.Api</c>): authentication, ingest answers,
/// admission and the local page cache. One per API host, from its <see cref="IMeterFactory"/>.</summary>
internal sealed class ApiMetrics
{
    public ApiMetrics(IMeterFactory meters)
    {
        Meter = meters.Create("Tally.Api");
        KeyLookups = Meter.CreateCounter<long>("tally_auth_key_lookups", "{lookup}", "API keys looked up in PostgreSQL.");
        AuthFailures = Meter.CreateCounter<long>("tally_auth_failures", "{request}", "Requests with an unknown API key.");
        AuthBlocked = Meter.CreateCounter<long>("tally_auth_blocked", "{request}", "Requests refused because their source failed authentication too often.");
        EventsAccepted = Meter.CreateCounter<long>("tally_ingest_events_accepted", "{event}", "Events acknowledged as durable.");
        EventsDuplicate = Meter.CreateCounter<long>("tally_ingest_events_duplicate", "{event}", "Events answered duplicate.");
        EventsRejected = Meter.CreateCounter<long>("tally_ingest_events_rejected", "{event}", "Events rejected with an error.");
        RequestsRefused = Meter.CreateCounter<long>("tally_ingest_requests_refused", "{request}", "Ingest requests answered 503, by code (overloaded, not_durable, outcome_unknown).");
        EventsRetry = Meter.CreateCounter<long>("tally_ingest_events_answered_retry", "{event}", "Events answered retry in a 200 answer (their user's part of the cluster did not answer in time).");
        LocalPageHits = Meter.CreateCounter<long>("tally_page_local_hits", "{request}",
            "Leaderboard pages answered from this API instance's memory (younger than Tally:Api:LocalPageCacheMs).");
    }

    /// <summary>The meter, for the observable instruments of the types that own what they observe.</summary>
    public Meter Meter { get; }

    public Counter<long> KeyLookups { get; }
    public Counter<long> AuthFailures { get; }
    public Counter<long> AuthBlocked { get; }
    public Counter<long> EventsAccepted { get; }
    public Counter<long> EventsDuplicate { get; }
    public Counter<long> EventsRejected { get; }
    public Counter<long> RequestsRefused { get; }
    public Counter<long> EventsRetry { get; }
    public Counter<long> LocalPageHits { get; }
}
