using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Tally.Grains.Boards;

/// <summary>
/// The background jobs' figures on this silo's <c>/metrics</c>: seconds since each job last finished and the rows it
/// wrote (series appear on the silo that runs the maintenance grain, from its first run; alert on their absence too).
/// </summary>
internal static class JobGauges
{
    private static readonly Meter Meter = new("Tally.Jobs");
    private static readonly ConcurrentDictionary<string, (DateTimeOffset FinishedAt, long Rows)> Jobs = new(StringComparer.Ordinal);

    private static readonly ObservableGauge<double> Age = Meter.CreateObservableGauge("tally_snapshot_age_seconds",
        () => Jobs.Select(j => new Measurement<double>((DateTimeOffset.UtcNow - j.Value.FinishedAt).TotalSeconds, new KeyValuePair<string, object?>("job", j.Key))),
        "s", "Seconds since the job last finished on this silo.");

    private static readonly ObservableGauge<long> Rows = Meter.CreateObservableGauge("tally_snapshot_rows",
        () => Jobs.Select(j => new Measurement<long>(j.Value.Rows, new KeyValuePair<string, object?>("job", j.Key))),
        "{row}", "Rows the job's last run wrote or read.");

    private static readonly ConcurrentDictionary<string, double> Runs = new(StringComparer.Ordinal);

    private static readonly ObservableGauge<double> Duration = Meter.CreateObservableGauge("tally_job_duration_seconds",
        () => Runs.Select(r => new Measurement<double>(r.Value, new KeyValuePair<string, object?>("runner", r.Key))),
        "s", "How long the runner's last run took (reconciliation, snapshot, checkpoint).");

    public static void Finished(string job, long rows) => Jobs[job] = (DateTimeOffset.UtcNow, rows);

    public static void Ran(string runner, TimeSpan elapsed) => Runs[runner] = elapsed.TotalSeconds;
}
