using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Tally.Grains.Boards;

/// <summary>Continuous export on the silo's <c>/metrics</c> (meter <c>Tally.Export</c>): rows and bytes written, and per
/// tenant the age of the oldest event not exported yet, as of the last scan. One per silo.</summary>
internal sealed class ExportMetrics
{
    private readonly ConcurrentDictionary<string, double> _lags = new(StringComparer.Ordinal);

    public ExportMetrics(IMeterFactory meters)
    {
        var meter = meters.Create("Tally.Export");
        Rows = meter.CreateCounter<long>("tally_export_rows", "{event}", "Raw events exported by continuous export, by tenant.");
        Bytes = meter.CreateCounter<long>("tally_export_bytes", "By", "Bytes written by continuous export (each sink), by tenant.");
        meter.CreateObservableGauge("tally_export_lag", () =>
            _lags.Select(p => new Measurement<double>(p.Value, new KeyValuePair<string, object?>("tenant", p.Key))), "s",
            "Age of the oldest raw event a tenant's continuous export has not written yet, as of the last scan.");
    }

    public Counter<long> Rows { get; }
    public Counter<long> Bytes { get; }

    public void Lag(string tenantId, double seconds) => _lags[tenantId] = seconds;
}
