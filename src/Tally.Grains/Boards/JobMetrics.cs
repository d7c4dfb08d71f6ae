using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Tally.Grains.Boards;

/// <summary>
/// The background jobs' instruments on this silo's <c>/metrics</c> (meter <c>Tally.Jobs</c>): seconds since each job last
/// finished and the rows it wrote, each runner's last duration, the checkpoint scheduler's wake-ups and the change
/// feed's retention. Series appear on the silo that runs the maintenance grain, from its first run; alert on their
/// absence too.
/// </summary>
internal sealed class JobMetrics
{
    private readonly ConcurrentDictionary<string, (DateTimeOffset FinishedAt, long Rows)> _jobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, double> _runs = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private long _changesPruned;
    private long _changesKept = -1;

    public JobMetrics(IMeterFactory meters, TimeProvider time)
    {
        _time = time;
        var meter = meters.Create("Tally.Jobs");
        meter.CreateObservableGauge("tally_snapshot_age_seconds",
            () => _jobs.Select(j => new Measurement<double>((_time.GetUtcNow() - j.Value.FinishedAt).TotalSeconds, new KeyValuePair<string, object?>("job", j.Key))),
            "s", "Seconds since the job last finished on this silo.");
        meter.CreateObservableGauge("tally_snapshot_rows",
            () => _jobs.Select(j => new Measurement<long>(j.Value.Rows, new KeyValuePair<string, object?>("job", j.Key))),
            "{row}", "Rows the job's last run wrote or read.");
        meter.CreateObservableGauge("tally_job_duration_seconds",
            () => _runs.Select(r => new Measurement<double>(r.Value, new KeyValuePair<string, object?>("runner", r.Key))),
            "s", "How long the runner's last run took (reconciliation, snapshot, checkpoint).");
        UsersWoken = meter.CreateCounter<long>("tally_checkpoint_users_woken", "{user}", "Users the checkpoint scheduler woke because a decision was due.");
        meter.CreateObservableCounter("tally_changes_pruned", () => Interlocked.Read(ref _changesPruned), "{change}",
            "Changes removed from the feed past their tenant's changes.keep_days.");
        // The feed's size as of the last maintenance run (absent before its first run).
        meter.CreateObservableGauge("tally_changes_kept", () => Interlocked.Read(ref _changesKept) is var kept and >= 0
            ? [new Measurement<long>(kept)] : Array.Empty<Measurement<long>>(), "{change}",
            "Changes kept in all tenants' feeds, as of the last maintenance run.");
    }

    public Counter<long> UsersWoken { get; }

    public void Finished(string job, long rows) => _jobs[job] = (_time.GetUtcNow(), rows);

    public void Ran(string runner, TimeSpan elapsed) => _runs[runner] = elapsed.TotalSeconds;

    public void ChangesPruned(long pruned, long kept)
    {
        Interlocked.Add(ref _changesPruned, pruned);
        Interlocked.Exchange(ref _changesKept, kept);
    }
}
