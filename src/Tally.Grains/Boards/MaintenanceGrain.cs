using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tally.Contracts;
using Tally.Domain.Time;
using Tally.Postgres.Boards;
using Tally.Postgres.EventLog;
using Tally.Postgres.Hosting;
using Tally.Postgres.Snapshots;
using Tally.Postgres.Tenants;

namespace Tally.Grains.Boards;

/// <summary>
/// Runs reconciliation and the snapshot jobs for the whole cluster. Orleans keeps one activation of key 0; the reminder
/// brings it back on another silo if its silo dies. Reconciliation takes turns only with itself: a shard's rebuild reads
/// the log from its watermark on, so the watermark must keep moving while a long snapshot run works.
/// </summary>
internal sealed partial class MaintenanceGrain(
    RecoveryStore recovery,
    SnapshotWriter snapshots,
    DailyStatsRefresh dailyStats,
    ChangeScan changeScan,
    Tally.Postgres.Jobs.JobLedger ledger,
    TenantStore tenantStore,
    TenantConfigCache tenants,
    Tally.Postgres.Changes.ChangeStore changeStore,
    Tally.Postgres.Webhooks.WebhookStore webhookStore,
    TimeProvider time,
    PartitionMaintainer partitions,
    IOptions<PostgresOptions> postgres,
    TallyClock clock,
    IOptions<BoardOptions> options,
    Tally.Postgres.Lifecycle.RetentionRunner retention,
    Tally.Postgres.Compat.ActionIds actionIds,
    Tally.Postgres.Lifecycle.ContinuousExport exports,
    IOptions<Tally.Postgres.Lifecycle.ExportOptions> export,
    JobMetrics jobMetrics,
    ExportMetrics exportMetrics,
    BoardMetrics boardMetrics,
    ILogger<MaintenanceGrain> logger) : Grain, IMaintenanceGrain, IRemindable
{
    private const string KeepAlive = "maintenance-keep-alive";
    private readonly BoardOptions _options = options.Value;
    private readonly SemaphoreSlim _oneJobAtATime = new(1, 1);
    // Retention exports may run for minutes: they hold their own turn, so snapshots and reconciliation go on meanwhile.
    private readonly SemaphoreSlim _oneRetentionAtATime = new(1, 1);
    // Reconciliation has its own turn too. Behind a snapshot run that took half an hour (the first after loading 1M
    // users), its watermark stood still, and a shard rebuilt after a kill -9 then had to read every event since.
    private readonly SemaphoreSlim _oneReconcileAtATime = new(1, 1);
    private IGrainTimer? _reconcileTimer;
    private IGrainTimer? _snapshotTimer;
    private IGrainTimer? _checkpointTimer;
    private IGrainTimer? _changesTimer;
    private IGrainTimer? _retentionTimer;
    private IGrainTimer? _exportTimer;

    public override Task OnActivateAsync(CancellationToken ct)
    {
        StartTimers();
        return Task.CompletedTask;
    }

    public async Task Start()
    {
        await this.RegisterOrUpdateReminder(KeepAlive, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        StartTimers();
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;

    public Task<ReconcileReport> ReconcileNow() => ExclusiveAsync("reconciliation", ReconcileAsync, ReconcileWork, CancellationToken.None);

    public Task<int> CheckpointsNow() => ExclusiveAsync("checkpoint", RunCheckpointsAsync, CheckpointWork, CancellationToken.None);

    // Someone waits for this run (an operator, a test): it does not rest between pieces as the timer's runs do.
    public Task<SnapshotReport> SnapshotNow() => ExclusiveAsync("snapshot", ct => SnapshotAsync(100, ct), SnapshotWork, CancellationToken.None);

    public Task<long> ChangesNow() => ExclusiveAsync("changes", RunChangesAsync, ChangesWork, CancellationToken.None);

    public Task<long> ExportNow() => ExclusiveAsync("export", ct => RunExportsAsync(force: true, ct), ExportWork, CancellationToken.None);

    public Task<long> RetentionNow() => ExclusiveAsync("retention", RunRetentionAsync, RetentionWork, CancellationToken.None);

    // What a run found to do, recorded with its duration: runs with work and idle runs are told apart (tally bench jobs).
    private static long ReconcileWork(ReconcileReport r) => r.UsersChecked;
    private static long CheckpointWork(int woken) => woken;
    private static long SnapshotWork(SnapshotReport r) => r.LeaderboardRows + r.RollupRows + r.UserSummaryRows + r.UserDailyRows;
    private static long ChangesWork(long pruned) => pruned;
    private static long RetentionWork(long removed) => removed;
    private static long ExportWork(long exported) => exported;

    private void StartTimers()
    {
        var reconcileEvery = TimeSpan.FromSeconds(_options.ReconcileIntervalSeconds);
        var snapshotEvery = TimeSpan.FromSeconds(_options.SnapshotIntervalSeconds);
        _reconcileTimer ??= this.RegisterGrainTimer(ct => RunJobAsync("reconciliation", ReconcileAsync, ReconcileWork, ct),
            new GrainTimerCreationOptions { DueTime = reconcileEvery, Period = reconcileEvery, KeepAlive = true, Interleave = true });
        _snapshotTimer ??= this.RegisterGrainTimer(ct => RunJobAsync("snapshot", c => SnapshotAsync(_options.SnapshotDutyPercent, c), SnapshotWork, ct),
            new GrainTimerCreationOptions { DueTime = snapshotEvery, Period = snapshotEvery, KeepAlive = true, Interleave = true });
        var checkpointsEvery = TimeSpan.FromSeconds(_options.CheckpointScanSeconds);
        _checkpointTimer ??= this.RegisterGrainTimer(ct => RunJobAsync("checkpoint", RunCheckpointsAsync, CheckpointWork, ct),
            new GrainTimerCreationOptions { DueTime = checkpointsEvery, Period = checkpointsEvery, KeepAlive = true, Interleave = true });
        var changesEvery = TimeSpan.FromSeconds(_options.ChangesMaintenanceSeconds);
        _changesTimer ??= this.RegisterGrainTimer(ct => RunJobAsync("changes", RunChangesAsync, ChangesWork, ct),
            new GrainTimerCreationOptions { DueTime = changesEvery, Period = changesEvery, KeepAlive = true, Interleave = true });
        var exportEvery = TimeSpan.FromSeconds(_options.ExportScanSeconds);
        _exportTimer ??= this.RegisterGrainTimer(ct => RunJobAsync("export", c => RunExportsAsync(force: false, c), ExportWork, ct),
            new GrainTimerCreationOptions { DueTime = exportEvery, Period = exportEvery, KeepAlive = true, Interleave = true });
        if (_options.RetentionIntervalMinutes > 0)
        {
            var retentionEvery = TimeSpan.FromMinutes(_options.RetentionIntervalMinutes);
            _retentionTimer ??= this.RegisterGrainTimer(ct => RunJobAsync("retention", RunRetentionAsync, RetentionWork, ct),
                new GrainTimerCreationOptions { DueTime = retentionEvery, Period = retentionEvery, KeepAlive = true, Interleave = true });
        }
    }

    /// <summary>Runs one job while no other runs, and records how long it took and how much it found to do: in
    /// the job ledger (row <c>run:NAME</c> of <c>tally_jobs</c>, shown by <c>tally jobs</c>) and as <c>tally_job_duration_seconds</c>
    /// on /metrics.</summary>
    private async Task<T> ExclusiveAsync<T>(string name, Func<CancellationToken, Task<T>> job, Func<T, long> work, CancellationToken ct)
    {
        var turn = name switch
        {
            "retention" or "export" => _oneRetentionAtATime,
            "reconciliation" => _oneReconcileAtATime,
            _ => _oneJobAtATime,
        };
        await turn.WaitAsync(ct);
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var result = await job(ct);
            var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            jobMetrics.Ran(name, elapsed);
            await ledger.RecordRunAsync(name, elapsed, work(result), ct);
            return result;
        }
        finally
        {
            turn.Release();
        }
    }

    /// <summary>A timer's run: a failure is logged and the job runs again at its next interval.</summary>
    private async Task RunJobAsync<T>(string name, Func<CancellationToken, Task<T>> job, Func<T, long> work, CancellationToken ct)
    {
        try
        {
            await ExclusiveAsync(name, job, work, ct);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning(ex, "The {Job} job failed; it runs again at its next interval.", name);
        }
    }
}
