using System.Diagnostics.Metrics;

namespace Tally.Grains;

/// <summary>The silo's ingest admission on <c>/metrics</c> (meter <c>Tally.Ingest</c>); one per silo.</summary>
internal sealed class IngestMetrics
{
    public IngestMetrics(IMeterFactory meters)
    {
        var meter = meters.Create("Tally.Ingest");
        Refused = meter.CreateCounter<long>("tally_ingest_calls_refused", "{call}",
            "Ingest calls the silo refused whole before writing anything, by reason (late: arrived with too little time left; queue: the writer's queue was full; commits: recent commits were slow).");
        RetryEvents = meter.CreateCounter<long>("tally_ingest_events_retry", "{event}",
            "Events answered retry by the silo, by reason (timeout: the user's grain did not answer by the deadline; overloaded; not_durable).");
    }

    public Counter<long> Refused { get; }
    public Counter<long> RetryEvents { get; }
}
